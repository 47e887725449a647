//! A GitHub Actions workflow: one job per image, `needs:` forming the image graph; the driver binary
//! goes from job to job as an artifact.

use super::yaml::{self, Yaml};
use super::{generated_by, Options, Pipeline, Task, DRIVER_BINARY, DRIVER_BUILD, DRIVER_VARIABLE};

/// The runner: a repository variable, else GitHub's Ubuntu runner.
const RUNS_ON: &str = "${{ vars.BUILDAH_GENTOO_RUNNER || 'ubuntu-latest' }}";
/// The actions used, pinned by major version.
const CHECKOUT: &str = "actions/checkout@v4";
const UPLOAD_ARTIFACT: &str = "actions/upload-artifact@v4";
const DOWNLOAD_ARTIFACT: &str = "actions/download-artifact@v4";
/// The driver binary's artifact.
const ARTIFACT: &str = "xtask";
/// The secret that holds the registry's auth.json (GitHub has no file variables): written to a file
/// only the job's user reads, whose path becomes REGISTRY_AUTH_FILE.
const AUTH_SECRET: &str = "REGISTRY_AUTH_JSON";

/// The pipeline as a GitHub Actions workflow.
pub fn render(pipeline: &Pipeline, options: Options) -> String {
    let mut header = generated_by(pipeline, "github");
    header.extend([
        String::new(),
        "Repository variables (Settings > Secrets and variables > Actions > Variables), passed to the jobs".to_owned(),
        "as the settings' own variables; one left unset keeps buildah-gentoo.toml's value or the default:".to_owned(),
    ]);
    for variable in super::SETTINGS_VARIABLES {
        header.push(format!("  {:<31} {}", variable.name, variable.what));
    }
    header.extend([
        format!(
            "  {:<31} {}",
            "BUILDAH_GENTOO_RUNNER", "the runner label (default ubuntu-latest); buildah runs as root"
        ),
        format!("and the secret {AUTH_SECRET}: the registry's auth.json (containers), given to the jobs as a"),
        "file in REGISTRY_AUTH_FILE. With the `ci-image` setting (BUILDAH_GENTOO_CI_IMAGE) set when this".to_owned(),
        "file is generated, the jobs run in that image, privileged (buildah needs it).".to_owned(),
    ]);

    let mut jobs = Vec::new();
    for job in &pipeline.jobs {
        let mut fields = vec![("name", Yaml::str(job.task.title()))];
        if !job.needs.is_empty() {
            fields.push(("needs", Yaml::list(job.needs.iter().map(Yaml::str))));
        }
        fields.push(("runs-on", Yaml::str(RUNS_ON)));
        let checkout = Yaml::map([("uses", Yaml::str(CHECKOUT))]);
        let steps = match &job.task {
            Task::Driver => {
                if let Some(image) = options.ci_image {
                    fields.push(("container", Yaml::str(image)));
                }
                vec![
                    checkout,
                    Yaml::map([("run", Yaml::str(DRIVER_BUILD))]),
                    Yaml::map([
                        ("uses", Yaml::str(UPLOAD_ARTIFACT)),
                        (
                            "with",
                            Yaml::map([
                                ("name", Yaml::str(ARTIFACT)),
                                ("path", Yaml::str(DRIVER_BINARY)),
                                ("if-no-files-found", Yaml::str("error")),
                                ("retention-days", Yaml::Int(1)),
                            ]),
                        ),
                    ]),
                ]
            }
            Task::Root { .. } | Task::RigRoot | Task::Image { .. } => {
                if let Some(image) = options.ci_image {
                    fields.push((
                        "container",
                        Yaml::map([("image", Yaml::str(image)), ("options", Yaml::str("--privileged"))]),
                    ));
                }
                let folder = DRIVER_BINARY.rsplit_once('/').expect("a path in a folder").0;
                let mut steps = vec![
                    checkout,
                    Yaml::map([
                        ("uses", Yaml::str(DOWNLOAD_ARTIFACT)),
                        ("with", Yaml::map([("name", Yaml::str(ARTIFACT)), ("path", Yaml::str(folder))])),
                    ]),
                    driver_step(&job.task),
                ];
                if let Some(logs) = options.logs {
                    steps.push(Yaml::map([
                        ("if", Yaml::str("always()")),
                        ("uses", Yaml::str(UPLOAD_ARTIFACT)),
                        (
                            "with",
                            Yaml::map([
                                ("name", Yaml::str(format!("logs-{}", job.name))),
                                ("path", Yaml::str(format!("{logs}/"))),
                                ("if-no-files-found", Yaml::str("ignore")),
                                ("retention-days", Yaml::Int(7)),
                            ]),
                        ),
                    ]));
                }
                steps
            }
        };
        fields.push(("steps", Yaml::list(steps)));
        jobs.push((job.name.clone(), Yaml::map(fields)));
    }

    let document = Yaml::map([
        ("name", Yaml::str("buildah-gentoo images")),
        ("on", Yaml::map([("push", Yaml::map::<&str>([])), ("workflow_dispatch", Yaml::map::<&str>([]))])),
        ("permissions", Yaml::map([("contents", Yaml::str("read"))])),
        ("jobs", Yaml::Map(jobs)),
    ]);
    yaml::render(&header, &document)
}

/// The step that runs the driver: the variables passed by reference (never their values), those
/// the repository leaves unset taken out (GitHub makes them empty), the auth secret written to a
/// file, then the driver binary with the workspace found through `CARGO_MANIFEST_DIR`.
fn driver_step(task: &Task) -> Yaml {
    let names: Vec<&str> = super::SETTINGS_VARIABLES.iter().map(|variable| variable.name).collect();
    let mut env: Vec<(String, Yaml)> =
        names.iter().map(|name| (name.to_string(), Yaml::str(format!("${{{{ vars.{name} }}}}")))).collect();
    env.push((AUTH_SECRET.to_owned(), Yaml::str(format!("${{{{ secrets.{AUTH_SECRET} }}}}"))));
    let command = task.driver_command().expect("a job that runs the driver");
    let script = format!(
        "for name in {names}; do\n  \
           [ -n \"$(printenv \"$name\")\" ] || unset \"$name\"\n\
         done\n\
         if [ -n \"${{{AUTH_SECRET}:-}}\" ]; then\n  \
           export REGISTRY_AUTH_FILE=\"$RUNNER_TEMP/registry-auth.json\"\n  \
           (umask 077 && printenv {AUTH_SECRET} > \"$REGISTRY_AUTH_FILE\")\n\
         fi\n\
         unset {AUTH_SECRET}\n\
         export {DRIVER_VARIABLE}=\"$GITHUB_WORKSPACE/{DRIVER_BINARY}\" CARGO_MANIFEST_DIR=\"$GITHUB_WORKSPACE/xtask\"\n\
         chmod +x \"${DRIVER_VARIABLE}\"\n\
         {command}\n",
        names = names.join(" "),
    );
    Yaml::map([("name", Yaml::str(task.title())), ("env", Yaml::Map(env)), ("run", Yaml::str(script))])
}
