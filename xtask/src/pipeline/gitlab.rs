//! `.gitlab-ci.yml`: every job in one stage, `needs:` forming the image graph (GitLab starts a job
//! as soon as the jobs it needs have finished, whatever their stage).

use super::yaml::{self, Yaml};
use super::{generated_by, Options, Pipeline, Task, DRIVER_BINARY, DRIVER_BUILD, DRIVER_JOB, DRIVER_VARIABLE};

/// The one stage.
const STAGE: &str = "build";

/// The pipeline as a GitLab CI file.
pub fn render(pipeline: &Pipeline, options: Options) -> String {
    let mut header = generated_by(pipeline, "gitlab");
    header.extend([
        String::new(),
        "CI/CD variables (Settings > CI/CD > Variables), read by the jobs as the settings' own variables;".to_owned(),
        "one left unset keeps buildah-gentoo.toml's value or the default:".to_owned(),
    ]);
    for variable in super::SETTINGS_VARIABLES {
        header.push(format!("  {:<31} {}", variable.name, variable.what));
    }
    header.extend([
        format!("  {:<31} {}", "REGISTRY_AUTH_FILE", "a variable of type File: the registry's auth.json (containers)"),
        String::new(),
        "The jobs run buildah as root: a shell executor on a root runner, or an image (the `ci-image`".to_owned(),
        "setting, BUILDAH_GENTOO_CI_IMAGE when generating) on a privileged Docker executor.".to_owned(),
    ]);

    let mut document = vec![("stages".to_owned(), Yaml::list([Yaml::str(STAGE)]))];
    for job in &pipeline.jobs {
        let mut fields = vec![("stage", Yaml::str(STAGE))];
        if let Some(image) = options.ci_image {
            fields.push(("image", Yaml::str(image)));
        }
        match &job.task {
            Task::Driver => {
                fields.extend([
                    ("needs", Yaml::list([])),
                    ("script", Yaml::list([Yaml::str(DRIVER_BUILD)])),
                    (
                        "artifacts",
                        Yaml::map([
                            ("paths", Yaml::list([Yaml::str(DRIVER_BINARY)])),
                            ("expire_in", Yaml::str("1 day")),
                        ]),
                    ),
                ]);
            }
            Task::Root { .. } | Task::RigRoot | Task::Image { .. } => {
                let needs = job.needs.iter().map(|need| {
                    // The driver's binary, not the logs of the jobs before.
                    let artifacts = need == DRIVER_JOB;
                    Yaml::map([("job", Yaml::str(need)), ("artifacts", Yaml::Bool(artifacts))])
                });
                let command = job.task.driver_command().expect("a job that runs the driver");
                fields.extend([
                    ("needs", Yaml::list(needs)),
                    (
                        "variables",
                        Yaml::map([
                            (DRIVER_VARIABLE, Yaml::str(format!("$CI_PROJECT_DIR/{DRIVER_BINARY}"))),
                            ("CARGO_MANIFEST_DIR", Yaml::str("$CI_PROJECT_DIR/xtask")),
                        ]),
                    ),
                    ("script", Yaml::list([Yaml::str(format!("chmod +x \"${DRIVER_VARIABLE}\"")), Yaml::str(command)])),
                ]);
                if let Some(logs) = options.logs {
                    fields.push((
                        "artifacts",
                        Yaml::map([
                            ("when", Yaml::str("always")),
                            ("paths", Yaml::list([Yaml::str(format!("{logs}/"))])),
                            ("expire_in", Yaml::str("1 week")),
                        ]),
                    ));
                }
            }
        }
        document.push((job.name.clone(), Yaml::map(fields)));
    }
    yaml::render(&header, &Yaml::Map(document))
}
