//! Stage3 tarballs as root images, for real: a tarball made from the rig root (with a file carrying
//! a capability and one owned by an id without a name), its `.DIGESTS` and a signature from a key
//! made here, imported by `cargo xtask build` and used as the root of a rig image. A corrupted tarball
//! and a signature from another key are refused before anything is created.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use buildah_gentoo_tests::e2e::{
    buildah_ok, containers, image_labels, inspect_image, run, run_in_image_ok, stored_images, MountedImage, Session,
    Workspace,
};
use buildah_gentoo_tests::servers::{Certificates, Registry, RegistryOptions};
use camino::{Utf8Path, Utf8PathBuf};
use tempfile::TempDir;

/// The rig image whose parent the test turns into a tarball root.
const BASE_DEFINITION: &str = "image-defs/src/images/rig/base.rs";
const RIG_PARENT: &str = "Parent::Root(Root::Rig)";
const CAPABLE: &str = "usr/local/bin/capable";
const ORPHAN: &str = "srv/orphan";

/// A stage3 made from the rig root, with its `.DIGESTS`, a signature and two keyrings.
struct Stage3 {
    dir: TempDir,
    tarball: Utf8PathBuf,
    sha512: String,
    /// The key that signed the tarball, and another one.
    signer_keyring: Utf8PathBuf,
    other_keyring: Utf8PathBuf,
}

impl Stage3 {
    fn make(rig_root: &str) -> Stage3 {
        let dir = tempfile::Builder::new().prefix("bg-stage3-").tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let tarball = root.join("stage3-rig.tar.zst");
        {
            let mounted = MountedImage::new(rig_root);
            let capable = mounted.path.join(CAPABLE);
            std::fs::copy(mounted.path.join("usr/bin/true"), &capable).unwrap();
            ok(Command::new("setcap").args(["cap_net_raw+ep", capable.as_str()]));
            // The rig's PyPI portage learns that it manages `/` from PORTAGE_OVERRIDE_EPREFIX, which
            // the rig root sets in its image config; a tarball carries no config, so this stand-in
            // stage3 sets it from a `.pth` file of the portage venv, which python's `site` runs at
            // start-up (Debian's own sitecustomize would shadow ours). A real stage3 needs nothing.
            let lib = mounted.path.join("opt/portage/lib");
            let python = lib
                .read_dir_utf8()
                .unwrap()
                .map(|entry| entry.unwrap().path().to_owned())
                .find(|path| path.file_name().is_some_and(|name| name.starts_with("python3")))
                .expect("the rig root's portage venv");
            std::fs::write(
                python.join("site-packages/buildah-gentoo-rig.pth"),
                "import os; os.environ.setdefault('PORTAGE_OVERRIDE_EPREFIX', '/')\n",
            )
            .unwrap();
            let orphan = mounted.path.join(ORPHAN);
            std::fs::write(&orphan, "owned by nobody with a name\n").unwrap();
            std::os::unix::fs::chown(&orphan, Some(4242), Some(4343)).unwrap();
            ok(Command::new("tar").args([
                "--create",
                "--zstd",
                "--file",
                tarball.as_str(),
                "--directory",
                mounted.path.as_str(),
                "--numeric-owner",
                "--xattrs",
                "--xattrs-include=*.*",
                ".",
            ]));
        }
        let sha512 = sha512_of(&tarball);
        // Gentoo's layout: a BLAKE2B section first (same digest length), then SHA512.
        let blake = "0".repeat(128);
        std::fs::write(
            root.join("stage3-rig.tar.zst.DIGESTS"),
            format!("# BLAKE2B HASH\n{blake}  stage3-rig.tar.zst\n# SHA512 HASH\n{sha512}  stage3-rig.tar.zst\n"),
        )
        .unwrap();
        let signer = root.join("signer");
        let other = root.join("other");
        let signer_keyring = make_key(&signer, "Release Engineering <releng@example.org>", &root.join("signer.gpg"));
        let other_keyring = make_key(&other, "Somebody Else <else@example.org>", &root.join("other.gpg"));
        ok(gpg(&signer).args(["--armor", "--detach-sign", "--output", &format!("{tarball}.asc"), tarball.as_str()]));
        for home in [&signer, &other] {
            let _ = Command::new("gpgconf").args(["--homedir", home.as_str(), "--kill", "all"]).status();
        }
        Stage3 { dir, tarball, sha512, signer_keyring, other_keyring }
    }

    /// A copy with one byte changed, whose `.DIGESTS` names the original's digest.
    fn corrupted_copy(&self) -> Utf8PathBuf {
        let root = Utf8Path::from_path(self.dir.path()).unwrap();
        let copy = root.join("stage3-corrupt.tar.zst");
        let mut bytes = std::fs::read(&self.tarball).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&copy, bytes).unwrap();
        std::fs::write(format!("{copy}.DIGESTS"), format!("# SHA512 HASH\n{}  stage3-corrupt.tar.zst\n", self.sha512))
            .unwrap();
        copy
    }
}

#[track_caller]
fn ok(command: &mut Command) -> String {
    let finished = run(std::mem::replace(command, Command::new("true")));
    finished.expect_success();
    finished.stdout
}

fn sha512_of(path: &Utf8Path) -> String {
    ok(Command::new("sha512sum").arg(path.as_str())).split_whitespace().next().unwrap().to_owned()
}

fn gpg(home: &Utf8Path) -> Command {
    let mut command = Command::new("gpg");
    command.args(["--homedir", home.as_str(), "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]);
    command
}

/// A new signing key in its own GnuPG home; returns its public key as a binary keyring file.
fn make_key(home: &Utf8Path, user: &str, keyring: &Utf8Path) -> Utf8PathBuf {
    std::fs::create_dir(home).unwrap();
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    ok(gpg(home).args(["--quick-gen-key", user, "ed25519", "sign", "never"]));
    ok(gpg(home).args(["--export", "--output", keyring.as_str()]));
    keyring.to_owned()
}

/// Root images of the session's namespace (`<namespace>/root/...`).
fn root_images(session: &Session) -> Vec<String> {
    let prefix = format!("{}/root/", session.namespace);
    stored_images().into_iter().flat_map(|image| image.names).filter(|name| name.starts_with(&prefix)).collect()
}

fn tarball_parent(tarball: &Utf8Path, keyring: Option<&Utf8Path>) -> String {
    match keyring {
        Some(keyring) => format!("Parent::Root(Root::tarball({tarball:?}).keyring({keyring:?}))"),
        None => format!("Parent::Root(Root::tarball({tarball:?}))"),
    }
}

#[test]
fn a_stage3_tarball_is_verified_then_imported_keeping_owners_and_capabilities_and_serves_as_a_root() {
    let session = Session::start("stage3-import");
    let workspace = Workspace::copy();
    let stage3 = Stage3::make(session.rig_root());
    // The rig's ebuild repository, as the repository of a tarball root (a rig root gets it by itself).
    let repository = workspace.root().join("tests/rig/repo");
    let build = || session.xtask(&workspace, &["--repository", repository.as_str(), "build", "rig/base"]);
    let containers_before = containers();

    // A corrupted tarball: refused by its digest; no image, no container.
    let corrupt = stage3.corrupted_copy();
    workspace.edit(BASE_DEFINITION, RIG_PARENT, &tarball_parent(&corrupt, None));
    let refused = build();
    refused.expect_failure();
    let output = refused.output();
    assert!(output.contains("check digest") && output.contains("sha512sum"), "{output}");
    assert!(output.contains("stage3-corrupt.tar.zst"), "the error names the tarball:\n{output}");
    assert_eq!(root_images(&session), Vec::<String>::new(), "a refused tarball leaves no image");

    // Signed by a key the keyring does not hold: refused.
    workspace.edit(
        BASE_DEFINITION,
        &tarball_parent(&corrupt, None),
        &tarball_parent(&stage3.tarball, Some(&stage3.other_keyring)),
    );
    let refused = build();
    refused.expect_failure();
    let output = refused.output();
    assert!(output.contains("check signature") && output.contains("gpgv"), "{output}");
    assert_eq!(root_images(&session), Vec::<String>::new(), "a badly signed tarball leaves no image");
    assert!(session.id("rig/base").is_none());

    // The right key: imported, then rig/base builds on it.
    workspace.edit(
        BASE_DEFINITION,
        &tarball_parent(&stage3.tarball, Some(&stage3.other_keyring)),
        &tarball_parent(&stage3.tarball, Some(&stage3.signer_keyring)),
    );
    let built = build();
    built.expect_success();
    let root = format!("{}/root/stage3-rig", session.namespace);
    let digest_tag = format!("{root}:sha512-{}", &stage3.sha512[..16]);
    assert!(built.stdout.contains(&format!("==> root {root}: importing")), "{}", built.output());
    assert_eq!(root_images(&session).len(), 2, "{:?}", root_images(&session));
    assert_eq!(image_labels(&digest_tag).get("io.buildah-gentoo.tarball"), Some(&format!("sha512:{}", stage3.sha512)));
    let config = &inspect_image(&digest_tag)["OCIv1"]["config"];
    assert_eq!((&config["Cmd"], &config["WorkingDir"]), (&serde_json::json!(["/bin/bash"]), &serde_json::json!("/")));
    assert_eq!(run_in_image_ok(&digest_tag, &["cat", "/etc/timezone"]).trim(), "UTC");
    {
        let mounted = MountedImage::new(&digest_tag);
        let capability = ok(Command::new("getcap").arg(mounted.path.join(CAPABLE).as_str()));
        assert!(capability.contains("cap_net_raw=ep"), "the file capability is lost: {capability:?}");
        let orphan = std::fs::metadata(mounted.path.join(ORPHAN)).unwrap();
        assert_eq!((orphan.uid(), orphan.gid()), (4242, 4343), "numeric owners are kept");
    }
    let base = session.latest("rig/base");
    assert_eq!(
        run_in_image_ok(&base, &["cat", &format!("/{ORPHAN}")]).trim_end(),
        "owned by nobody with a name",
        "rig/base stands on the imported root"
    );
    let emerged = workspace.emerged("rig/base");
    assert!(
        emerged.source.iter().chain(&emerged.binary).any(|cpv| cpv.starts_with("dev-libs/libgreet")),
        "{emerged:?}"
    );

    // Nothing changed: neither the import nor the image runs again.
    let again = build();
    again.expect_success();
    // An imported root is in storage: the plan has no import for it.
    assert!(!again.stdout.contains(&format!("==> root {root}: importing")), "{}", again.output());
    assert_eq!(again.result_of("rig/base"), Some("up to date"));
    assert_eq!(session.new_containers(&containers_before, &containers()), vec![], "no container is left behind");

    // In CI: the tarball root's job, `ci root PATH`, pushes the imported root under its digest tag,
    // and finds it there the next time; then rig/base's job, on a storage without the root, pulls
    // it from the registry by that tag and builds on it.
    let registry_dir = tempfile::Builder::new().prefix("e2e-stage3-registry-").tempdir().unwrap();
    let registry_dir = Utf8PathBuf::from_path_buf(registry_dir.path().to_owned()).unwrap();
    let certificates = Certificates::make(&registry_dir.join("pki"));
    let registry = Registry::start(&registry_dir.join("registry"), &certificates, &RegistryOptions::default());
    let certs_d = registry_dir.join("certs.d");
    certificates.certs_d(&certs_d, &registry.host, true, false);
    let ci = |args: &[&str]| {
        let mut all = vec!["--registry", &registry.host, "--certs-dir", certs_d.as_str(), "--repository"];
        all.push(repository.as_str());
        all.extend(args);
        let finished = session.xtask(&workspace, &all);
        finished.expect_success();
        finished
    };
    let root_report = || -> serde_json::Value {
        let path = workspace.root().join("target/buildah-gentoo/logs/ci/root-stage3-rig-tar-zst.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    ci(&["ci", "root", stage3.tarball.as_str()]);
    let pushed = root_report();
    assert_eq!(pushed["status"], "pushed", "{pushed:#}");
    assert!(pushed["reference"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/root/stage3-rig:sha512-{}", &stage3.sha512[..16])));
    ci(&["ci", "root", stage3.tarball.as_str()]);
    assert_eq!(root_report()["status"], "up to date (registry)");
    for image in stored_images() {
        if image.names.iter().any(|name| name.starts_with(&format!("{}/", session.namespace))) {
            buildah_ok(&["rmi", "--force", &image.id]);
        }
    }
    assert!(root_images(&session).is_empty());
    let job: serde_json::Value = serde_json::from_str(&ci(&["ci", "job", "rig/base", "--json"]).stdout).unwrap();
    assert_eq!(job["status"], "built", "{job:#}");
    let pulled: Vec<&str> = job["pulled"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(pulled.len(), 1, "{job:#}");
    assert!(pulled[0].ends_with(&format!("/root/stage3-rig:sha512-{}", &stage3.sha512[..16])), "{job:#}");
    assert_eq!(
        root_images(&session).len(),
        2,
        "the pulled root is named as an import names it: {:?}",
        root_images(&session)
    );
}

/// xz and bzip2 tarballs with a digest declared in the definition (no `.DIGESTS`), through the
/// import API `cargo xtask catalyst` uses; a second import of the same tarball is skipped.
#[test]
fn xz_and_bzip2_tarballs_import_and_an_imported_digest_is_not_imported_again() {
    use xtask::execute::root_import::{import, TarballRoot};

    let session = Session::start("stage3-compression");
    let workspace = Workspace::copy();
    let temporary = tempfile::Builder::new().prefix("bg-tiny-stage3-").tempdir().unwrap();
    let dir = Utf8PathBuf::from_path_buf(temporary.path().to_owned()).unwrap();
    // A tiny root: a static busybox as /bin/sh (the import's tweaks run in it) and /etc.
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    {
        let mounted = MountedImage::new(session.rig_root());
        std::fs::copy(mounted.path.join("bin/busybox"), tree.join("bin/busybox")).unwrap();
    }
    for applet in ["sh", "cat", "sed"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet)).unwrap();
    }
    let settings = xtask::settings::Settings::defaults(&session.cache_dir());
    let sh = xshell::Shell::new().unwrap();
    for (name, flag) in [("tiny-xz", "--xz"), ("tiny-bzip2", "--bzip2")] {
        let tarball = dir.join(format!("{name}.tar.{}", if flag == "--xz" { "xz" } else { "bz2" }));
        ok(Command::new("tar").args(["--create", flag, "--file", tarball.as_str(), "-C", tree.as_str(), "."]));
        let root = TarballRoot {
            path: tarball.clone(),
            digest: Some(format!("sha512:{}", sha512_of(&tarball))),
            keyring: None,
        };
        let repository = format!("{}/root/{name}", session.namespace);
        let first = import(&sh, &settings, workspace.root(), &root, &repository).unwrap();
        assert!(!first.skipped);
        assert_eq!(run_in_image_ok(&first.reference, &["/bin/cat", "/etc/timezone"]).trim(), "UTC");
        let second = import(&sh, &settings, workspace.root(), &root, &repository).unwrap();
        assert_eq!((second.skipped, &second.id), (true, &first.id), "the same digest is not imported twice");

        let wrong = TarballRoot { digest: Some(format!("sha512:{}", "ab".repeat(64))), ..root };
        let error = format!(
            "{:#}",
            import(&sh, &settings, workspace.root(), &wrong, &format!("{repository}-wrong")).unwrap_err()
        );
        assert!(error.contains("check digest"), "{error}");
    }
}
