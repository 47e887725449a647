//! Invalid `atom!`, `use_flag!`, `keyword!`, `subarch!` and `profile!` literals (and releases
//! built with `Release::checked`) must fail `cargo build` with a readable
//! message, in a `const` item and inside fn bodies (even of a generic fn that is never called:
//! the macros expand to a named const item, which is always evaluated); valid ones must build
//! and run (the control that lets this test fail).
//!
//! Each case is a throwaway crate depending on `image-defs` by path, built with
//! `cargo build --offline` (`$CARGO` if set) into the shared `target/compile-fail`, so only the
//! first run compiles `image-defs` and its dependencies.

use std::process::Command;

use buildah_gentoo_tests::workspace_root;
use camino::Utf8PathBuf;

/// The outcome of building one throwaway crate.
struct Build {
    success: bool,
    stderr: String,
    binary: Utf8PathBuf,
}

/// Builds a binary crate named `compile-fail-{name}` whose `src/main.rs` is `main_rs`.
fn build(name: &str, main_rs: &str) -> Build {
    let root = workspace_root();
    let dir = tempfile::Builder::new().prefix("compile-fail-").tempdir().expect("creating a temporary crate");
    let crate_dir = Utf8PathBuf::from_path_buf(dir.path().to_owned()).expect("UTF-8 temp dir");
    let package = format!("compile-fail-{name}");
    let manifest = format!(
        r#"[package]
name = "{package}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
image_defs = {{ package = "image-defs", path = "{}" }}

[profile.dev]
debug = 0

[workspace]
"#,
        root.join("image-defs")
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(crate_dir.join("src")).unwrap();
    std::fs::write(crate_dir.join("src/main.rs"), main_rs).unwrap();
    // The workspace's lock file pins the same dependency versions as the workspace build, which
    // `--offline` needs (and which lets the shared target directory reuse them).
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, crate_dir.join("Cargo.lock")).unwrap();
    }
    let target = root.join("target/compile-fail");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(&cargo)
        .args(["build", "--offline", "--color", "never"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cargo}`: {e}"));
    Build {
        success: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        binary: target.join("debug").join(&package),
    }
}

/// Builds `main_rs`, which must fail with every message in `messages`.
fn assert_fails(name: &str, main_rs: &str, messages: &[&str]) {
    let build = build(name, main_rs);
    assert!(!build.success, "{name}: the invalid literals compiled:\n{main_rs}");
    let missing: Vec<&&str> = messages.iter().filter(|m| !build.stderr.contains(**m)).collect();
    assert!(
        missing.is_empty(),
        "{name}: the build failed, but without the messages {missing:?}; stderr:\n{}",
        build.stderr
    );
}

#[test]
fn valid_literals_compile_and_run() {
    let build = build(
        "valid",
        r#"
use image_defs::{atom, keyword, profile, subarch, use_flag, Atom, Keyword, Profile, Subarch, UseFlag};

const ATOM: Atom<'static> = atom!(">=dev-libs/openssl-3.0.13-r1:0/3=::gentoo[-bindist(-),ssl?]");
const FLAG: UseFlag<'static> = use_flag!("-introspection");
const KEYWORD: Keyword<'static> = keyword!("~amd64");
const SUBARCH: Subarch = subarch!("x86_64");
const PROFILE: Profile<'static> = profile!("gentoo:default/linux/amd64/23.0/hardened");

fn main() {
    let in_fn = atom!("!!=sys-libs/glibc-2.38*");
    let flag = use_flag!("gtk+");
    let keyword = keyword!("**");
    let uses: Vec<&str> = ATOM.use_deps().collect();
    println!("{} {} {:?} {:?}", ATOM.cp(), ATOM.version().unwrap(), ATOM.subslot(), uses);
    println!("{} {} {}", in_fn, in_fn.operator().unwrap().as_str(), in_fn.version().unwrap());
    println!("{} {} {} {} {}", FLAG.name(), FLAG.enabled(), flag, KEYWORD, keyword);
    println!("{} {} {}", SUBARCH, SUBARCH.arch(), PROFILE);
    println!("{}", image_defs::releases::AMD64_HARDENED.name);
}
"#,
    );
    assert!(build.success, "valid literals failed to build:\n{}", build.stderr);
    let out = Command::new(&build.binary).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", build.binary));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "dev-libs/openssl 3.0.13-r1 Some(\"3\") [\"-bindist(-)\", \"ssl?\"]\n\
         !!=sys-libs/glibc-2.38* =* 2.38\n\
         introspection false gtk+ ~amd64 **\n\
         x86_64 amd64 gentoo:default/linux/amd64/23.0/hardened\n\
         amd64-hardened\n"
    );
}

#[test]
fn invalid_atoms_do_not_compile() {
    assert_fails(
        "atom",
        r#"
const BAD: image_defs::Atom<'static> = image_defs::atom!("=dev-libs/foo-");

fn main() {
    let also_bad = image_defs::atom!("dev-libs/foo[a,]");
    println!("{BAD} {also_bad}");
}

#[allow(dead_code)]
fn never_called<T>() -> image_defs::Atom<'static> {
    image_defs::atom!("dev-libs/foo:")
}
"#,
        &[
            "invalid atom `=dev-libs/foo-`: at byte 14: expected a version after `-`",
            "invalid atom `dev-libs/foo[a,]`: at byte 15: expected a USE flag name",
            "invalid atom `dev-libs/foo:`: at byte 13: expected a slot name, `*` or `=` after `:`",
        ],
    );
}

#[test]
fn invalid_use_flags_do_not_compile() {
    assert_fails(
        "use-flag",
        r#"
const BAD: image_defs::UseFlag<'static> = image_defs::use_flag!("+ssl");

fn main() {
    let also_bad = image_defs::use_flag!("ssl?");
    println!("{BAD} {also_bad}");
}
"#,
        &[
            "invalid USE flag `+ssl`: at byte 0: expected a USE flag name starting with a letter \
             or digit",
            "invalid USE flag `ssl?`: at byte 3: expected a USE flag name character",
        ],
    );
}

#[test]
fn invalid_keywords_do_not_compile() {
    assert_fails(
        "keyword",
        r#"
const BAD: image_defs::Keyword<'static> = image_defs::keyword!("~amd 64");

fn main() {
    let also_bad = image_defs::keyword!("~~amd64");
    println!("{BAD} {also_bad}");
}
"#,
        &[
            "invalid keyword `~amd 64`: at byte 4: expected a keyword name character",
            "invalid keyword `~~amd64`: at byte 1: expected a keyword name starting with a \
             letter, digit or `_`",
        ],
    );
}

#[test]
fn invalid_image_specs_do_not_compile() {
    assert_fails(
        "spec",
        r#"
use image_defs::{atom, image, Action, Parent, Repository, Root, Spec, User};

image! { BadName = Spec { name: "Bad_Name", parent: Parent::Root(Root::Rig), ..Spec::DEFAULT }; }
image! {
    Escaping = Spec {
        name: "escaping",
        actions: &[Action::Symlink { path: "/etc/x", target: "../../etc/shadow" }],
        ..Spec::DEFAULT
    };
}
image! { EmptyArgv = Spec { name: "empty-argv", entrypoint: Some(&[]), ..Spec::DEFAULT }; }
image! {
    SameUid = Spec {
        name: "same-uid",
        actions: &[Action::User(User::new("web", 101, 101)), Action::User(User::new("db", 101, 102))],
        ..Spec::DEFAULT
    };
}
image! { RelativeVolume = Spec { name: "volume", volumes: &["data"], ..Spec::DEFAULT }; }
image! { BadEnv = Spec { name: "env", env: &[("LANG UAGE", "C")], ..Spec::DEFAULT }; }
image! {
    FullLibs = Spec {
        name: "full-libs",
        actions: &[Action::RuntimeLibraries(atom!("sys-devel/gcc"))],
        ..Spec::DEFAULT
    };
}
image! {
    BadLocale = Spec {
        name: "locale",
        actions: &[Action::Locale { locale: "english", charset: "UTF-8" }],
        ..Spec::DEFAULT
    };
}
image! { Upward = Spec { name: "upward", workdir: Some("/srv/../etc"), ..Spec::DEFAULT }; }
image! { Undeclared = Spec { name: "undeclared", packages: &[atom!("sys-apps/busybox::kubler")], ..Spec::DEFAULT }; }
const KUBLER: Repository = Repository::folder("kubler", "overlays/kubler").checked();
image! {
    Twice = Spec {
        name: "twice",
        repositories: &[KUBLER, KUBLER],
        packages: &[atom!("sys-apps/busybox::kubler")],
        ..Spec::DEFAULT
    };
}
const OUTSIDE: Repository = Repository::folder("outside", "../elsewhere").checked();

fn main() {}
"#,
        &[
            "image `Bad_Name`: invalid name `Bad_Name`: expected an OCI repository path",
            "image `escaping`: invalid symlink target `../../etc/shadow`: expected a target that stays inside",
            "image `empty-argv`: invalid entrypoint `[]`: expected a command: a non-empty argv",
            "image `same-uid`: invalid user `db`: expected a name and a uid no other user of the image has",
            "image `volume`: invalid volume `data`: expected an absolute path inside the image",
            "image `env`: invalid environment variable `LANG UAGE`: expected a name of [A-Za-z_][A-Za-z0-9_]*",
            "image `full-libs`: invalid action `runtime-libraries`: expected an action of a full image",
            "image `locale`: invalid locale `english`: expected a glibc locale name",
            "image `upward`: invalid workdir `/srv/../etc`: expected a path without `.` or `..` components",
            "image `undeclared`: invalid atom `sys-apps/busybox::kubler`: expected a repository the image lists in \
             `repositories` (or `gentoo`)",
            "image `twice`: invalid repository `kubler`: expected each repository listed once",
            "invalid repository folder `../elsewhere`: expected an absolute path, or one relative to the workspace root",
        ],
    );
    assert_fails(
        "hints",
        r#"
const PLUS: image_defs::UseFlag<'static> = image_defs::use_flag!("+ssl");
const STAR: image_defs::Atom<'static> = image_defs::atom!("*/*");

fn main() {
    println!("{PLUS} {STAR}");
}
"#,
        &["write `ssl`, not `+ssl`", "`*` and `*/*` name no package: for every package, use the image's `use_flags`"],
    );
}

#[test]
fn invalid_releases_do_not_compile() {
    assert_fails(
        "release",
        r#"
use image_defs::release::{CatalystOption, Compression, Release, Stages};

const BAD_SUBARCH: image_defs::Subarch = image_defs::subarch!("amd46");
const BAD_PROFILE: image_defs::Profile<'static> = image_defs::profile!("/default/linux/amd64/23.0");

const BAD_RELEASE: Release = Release {
    name: "amd64-openrc",
    subarch: image_defs::subarch!("amd64"),
    profile: image_defs::profile!("default/linux/amd64/23.0"),
    version_prefix: "openrc",
    rel_type: "none",
    seed: "23.0-default/stage3-amd64-openrc-latest",
    compression: Compression::Xz,
    stages: Stages::Stage1Stage3,
    update_seed: true,
    options: &[CatalystOption::Seedcache],
    binhost: None,
    binrepo_path: None,
    pkgcache_path: None,
    portage_confdir: None,
    portage_prefix: None,
    common_flags: None,
}
.checked();

fn main() {
    println!("{} {} {}", BAD_SUBARCH, BAD_PROFILE, BAD_RELEASE.name);
}
"#,
        &[
            "invalid subarch `amd46`: at byte 0: expected a subarch from catalyst's arch/*.toml",
            "invalid profile `/default/linux/amd64/23.0`: at byte 0: expected a profile path relative to profiles/",
            "invalid rel_type `none`: at byte 0: expected a value other than `none`",
        ],
    );
}
