use std::process::ExitCode;

use anyhow::Result;
use image_defs::registry::ResolvedParent;
use image_defs::{Action, Image, Layout, RepositoryFrom, Root};
use serde::Serialize;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print a JSON array with each image's parent, layout (and builder), packages and USE flags.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ImageSummary {
    name: &'static str,
    description: &'static str,
    parent: ParentSummary,
    /// `full` or `minimal`.
    layout: &'static str,
    /// Where a minimal image's packages are emerged; `null` for full images.
    builder: Option<ParentSummary>,
    /// The extra ebuild repositories its build mounts (its own and its ancestors').
    repositories: Vec<RepositorySummary>,
    packages: Vec<String>,
    #[serde(rename = "use")]
    use_flags: Vec<String>,
    package_use: Vec<PackageUseSummary>,
    /// The post-install actions, in order, each with its `kind`.
    actions: Vec<serde_json::Value>,
    /// Explicit package.provided entries.
    provided: Vec<String>,
    healthcheck: Option<serde_json::Value>,
    volumes: &'static [&'static str],
    stop_signal: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ParentSummary {
    Image(&'static str),
    Registry(&'static str),
    Tarball(&'static str),
    Rig,
}

#[derive(Serialize)]
struct RepositorySummary {
    name: &'static str,
    /// A folder (absolute, or relative to the workspace root), or `null`.
    folder: Option<&'static str>,
    /// An image reference, or `null`.
    image: Option<&'static str>,
    /// Where builds mount it.
    location: String,
}

#[derive(Serialize)]
struct PackageUseSummary {
    atom: String,
    flags: Vec<String>,
}

pub fn run(context: &Context, args: &ListArgs) -> Result<ExitCode> {
    let registry = context.registry;
    if !args.json {
        for image in registry.in_order() {
            println!("{}", image.name());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let summaries: Vec<ImageSummary> = registry
        .in_order()
        .map(|image| ImageSummary {
            name: image.name(),
            description: image.spec().description,
            parent: summary(registry.parent_of(image), registry.parent_image(image)),
            layout: match image.spec().layout {
                Layout::Full => "full",
                Layout::Minimal => "minimal",
            },
            builder: registry.builder_of(image).map(|builder| summary(builder, registry.builder_image(image))),
            repositories: registry
                .repositories_of(image)
                .into_iter()
                .map(|repository| RepositorySummary {
                    name: repository.name,
                    folder: match repository.source {
                        RepositoryFrom::Folder(path) => Some(path),
                        RepositoryFrom::Image(_) => None,
                    },
                    image: match repository.source {
                        RepositoryFrom::Image(reference) => Some(reference),
                        RepositoryFrom::Folder(_) => None,
                    },
                    location: repository.location().to_string(),
                })
                .collect(),
            packages: image.spec().packages.iter().map(ToString::to_string).collect(),
            use_flags: image.spec().use_flags.iter().map(|flag| flag.to_string()).collect(),
            package_use: image
                .spec()
                .package_use
                .iter()
                .map(|entry| PackageUseSummary {
                    atom: entry.atom.to_string(),
                    flags: entry.flags.iter().map(|flag| flag.to_string()).collect(),
                })
                .collect(),
            actions: image.spec().actions.iter().map(action_summary).collect(),
            provided: image.spec().provided.iter().map(ToString::to_string).collect(),
            healthcheck: image.spec().healthcheck.map(|check| {
                serde_json::json!({
                    "argv": check.argv,
                    "interval": check.interval,
                    "timeout": check.timeout,
                    "retries": check.retries,
                    "start_period": check.start_period,
                })
            }),
            volumes: image.spec().volumes,
            stop_signal: image.spec().stop_signal,
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&summaries)?);
    Ok(ExitCode::SUCCESS)
}

fn summary(parent: ResolvedParent, image: Option<&'static dyn Image>) -> ParentSummary {
    match parent {
        ResolvedParent::Image(_) => ParentSummary::Image(image.expect("a resolved image").name()),
        ResolvedParent::Root(Root::Registry(reference)) => ParentSummary::Registry(reference),
        ResolvedParent::Root(Root::Tarball { path, .. }) => ParentSummary::Tarball(path),
        ResolvedParent::Root(Root::Rig) => ParentSummary::Rig,
    }
}

/// An action as JSON: its `kind` and its values.
fn action_summary(action: &Action) -> serde_json::Value {
    use serde_json::json;
    let values = match *action {
        Action::Group { name, gid } => json!({ "name": name, "gid": gid }),
        Action::User(user) => json!({
            "name": user.name, "uid": user.uid, "gid": user.gid, "home": user.home, "shell": user.shell,
            "groups": user.groups,
        }),
        Action::Locale { locale, charset } => json!({ "locale": locale, "charset": charset }),
        Action::Timezone(zone) => json!({ "zone": zone }),
        Action::Mkdir { path, mode, owner } => json!({ "path": path, "mode": format!("{mode:o}"), "owner": owner }),
        Action::Symlink { path, target } => json!({ "path": path, "target": target }),
        Action::WriteFile { path, contents, mode } => {
            json!({ "path": path, "contents": contents, "mode": format!("{mode:o}") })
        }
        Action::RuntimeLibraries(atom) => json!({ "package": atom.as_str() }),
        Action::RunInImage(argv) | Action::RunInBuilder(argv) => json!({ "argv": argv }),
    };
    let mut values = values;
    values["kind"] = json!(action.kind());
    values
}
