//! The image's configuration: its own environment, labels, ports, user and commands, and the OCI
//! labels and annotations every image gets.

use image_defs::Image;

use super::step::{BASE_DIGEST, INPUTS, REVISION};
use super::{
    ConfigOption, PlanInputs, IMAGE_LABEL, INPUTS_LABEL, OCI_BASE_DIGEST, OCI_BASE_NAME, OCI_CREATED, OCI_REVISION,
    OCI_SOURCE, OCI_TITLE, OCI_VERSION,
};

/// The image's own configuration (environment, name label, labels, ports, user, workdir, commands).
pub(super) fn config_options(image: &dyn Image) -> Vec<ConfigOption> {
    let mut options = Vec::new();
    for &(key, value) in image.spec().env {
        options.push(ConfigOption::Env(key.into(), value.into()));
    }
    options.push(ConfigOption::Label(IMAGE_LABEL.into(), image.name().into()));
    for &(key, value) in image.spec().labels {
        options.push(ConfigOption::Label(key.into(), value.into()));
    }
    for port in image.spec().ports {
        options.push(ConfigOption::Port(port.to_string()));
    }
    if let Some(user) = image.spec().user {
        options.push(ConfigOption::User(user.into()));
    }
    if let Some(dir) = image.spec().workdir {
        options.push(ConfigOption::Workdir(dir.into()));
    }
    if let Some(argv) = image.spec().entrypoint {
        options.push(ConfigOption::Entrypoint(argv.iter().map(|arg| arg.to_string()).collect()));
    }
    for volume in image.spec().volumes {
        options.push(ConfigOption::Volume(volume.to_string()));
    }
    if let Some(signal) = image.spec().stop_signal {
        options.push(ConfigOption::StopSignal(signal.into()));
    }
    if let Some(check) = image.spec().healthcheck {
        options.push(ConfigOption::Healthcheck(check.argv.iter().map(|arg| arg.to_string()).collect()));
        options.push(ConfigOption::HealthcheckInterval(check.interval));
        options.push(ConfigOption::HealthcheckTimeout(check.timeout));
        options.push(ConfigOption::HealthcheckStartPeriod(check.start_period));
        options.push(ConfigOption::HealthcheckRetries(check.retries));
    }
    if let Some(argv) = image.spec().cmd {
        options.push(ConfigOption::Cmd(argv.iter().map(|arg| arg.to_string()).collect()));
    }
    options
}

/// The `org.opencontainers.image.*` values, each as a label and as a manifest annotation, and the
/// input-hash label. `base`: the reference the image starts from (none for scratch). The revision,
/// the base's digest and the input hash are variables of the run; the version is the input hash (as
/// in the `inputs-` tag).
pub(super) fn oci_options(image: &dyn Image, inputs: &PlanInputs, base: Option<&str>) -> Vec<ConfigOption> {
    let mut options = vec![ConfigOption::LabelFrom(INPUTS_LABEL.into(), INPUTS)];
    let mut fixed =
        vec![(OCI_TITLE, image.name().to_owned()), (OCI_CREATED, crate::clock::rfc3339(inputs.source_date(image)))];
    if let Some(source) = &inputs.settings.source {
        fixed.push((OCI_SOURCE, source.clone()));
    }
    let mut from_run = vec![(OCI_VERSION, INPUTS), (OCI_REVISION, REVISION)];
    if let Some(base) = base {
        fixed.push((OCI_BASE_NAME, base.to_owned()));
        from_run.push((OCI_BASE_DIGEST, BASE_DIGEST));
    }
    for (key, value) in fixed {
        options.push(ConfigOption::Label(key.into(), value.clone()));
        options.push(ConfigOption::Annotation(key.into(), value));
    }
    for (key, var) in from_run {
        options.push(ConfigOption::LabelFrom(key.into(), var));
        options.push(ConfigOption::AnnotationFrom(key.into(), var));
    }
    options
}
