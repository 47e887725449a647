//! A binhost behind TLS that requires client certificates: real nginx on loopback (`ssl_verify_client
//! on`) serves packages a rig build made and `binhost sync` published; a rig build with an empty
//! package cache and `certs-dir` holding the CA and a client certificate for `localhost:<port>` gets
//! every package from it. Without the client certificate the build fails, and no file of the
//! certificates folder is in any layer of the images built.
//!
//! Real buildah, emerge, wget and nginx; the test holds the end-to-end lock (its `Session`), has its
//! own image namespace, caches, certificates and server, and removes them when it ends.

use std::collections::BTreeSet;
use std::process::Command;

use buildah_gentoo_tests::e2e::{self, rig_key, Emerged, Finished, Session, Workspace};
use buildah_gentoo_tests::servers::{Certificates, Nginx};
use camino::{Utf8Path, Utf8PathBuf};

/// The images built from the binhost, parents first.
const IMAGES: [&str; 2] = ["rig/base", "rig/hello"];

/// What each image merges: rig/base libgreet, rig/hello hello.
const PACKAGES: [(&str, &str); 2] = [("rig/base", "dev-libs/libgreet-1"), ("rig/hello", "app-misc/hello-1")];

/// The workspace's settings file: one binhost at `https://HOST` (keyed: builds fetch from the folder
/// of their flags, `https://HOST/<key>`, as `binhost sync` published it), certificates in `certs_dir`.
fn write_settings(workspace: &Workspace, host: &str, certs_dir: &Utf8Path) {
    let text = format!(
        "certs-dir = \"{certs_dir}\"\n\n[[binhost]]\nname = \"tls\"\nuri = \"https://{host}\"\nverify-signature = false\n"
    );
    std::fs::write(workspace.root().join(xtask::settings::SETTINGS_FILE), text).unwrap();
}

/// `cargo xtask build rig/hello` with the cache `cache`.
fn build(session: &Session, workspace: &Workspace, cache: &Utf8Path) -> Finished {
    session.xtask_with_cache(workspace, cache, &["build", "rig/hello"])
}

/// Lines of every file of `folder` (PEM bodies: the CA certificate, the client certificate, its key)
/// to look for, three per file.
fn needles_of(folder: &Utf8Path) -> BTreeSet<String> {
    let mut needles = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(folder).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let body: Vec<&str> = text.lines().filter(|line| line.len() >= 60 && !line.starts_with("-----")).collect();
        assert!(body.len() > 3, "a PEM file with a body");
        needles.extend([body[0], body[body.len() / 2], body[body.len() - 2]].map(str::to_owned));
        files += 1;
    }
    assert_eq!(files, 3, "ca.crt, client.cert and client.key in {folder}");
    needles
}

/// The package files (`.gpkg.tar`) under `dir`, relative to it.
fn package_files(dir: &Utf8Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in folder.read_dir_utf8().unwrap() {
            let path = entry.unwrap().path().to_owned();
            if path.is_dir() {
                stack.push(path);
            } else if path.as_str().ends_with(".gpkg.tar") {
                found.insert(path.strip_prefix(dir).unwrap().to_string());
            }
        }
    }
    found
}

#[test]
fn a_binhost_requiring_client_certificates_serves_every_package_and_no_certificate_reaches_a_layer() {
    let session = Session::start("binhost-tls");
    let workspace = Workspace::copy();
    let temp = tempfile::Builder::new().prefix("e2e-binhost-tls-").tempdir().unwrap();
    let temp = Utf8PathBuf::from_path_buf(temp.path().to_owned()).unwrap();

    // The packages to serve: rig/hello built with the session's cache, published to a folder.
    build(&session, &workspace, &session.cache_dir()).expect_success();
    let served = temp.join("served");
    session.xtask(&workspace, &["binhost", "sync", "--to", served.as_str()]).expect_success();
    let key = rig_key(&session.cache_dir());
    let published = package_files(&served.join(&key));
    assert_eq!(published.len(), 2, "libgreet and hello are published: {published:?}");
    session.remove_images(&["rig/hello", "rig/base"]);

    let certificates = Certificates::make(&temp.join("pki"));
    let nginx = Nginx::start_tls(&temp.join("nginx"), &served, &certificates, true);
    let host = nginx.host.as_str();

    // Without a client certificate (the CA alone): nginx refuses, the build fails and says why.
    let ca_only = temp.join("ca-only/certs.d");
    certificates.certs_d(&ca_only, host, true, false);
    write_settings(&workspace, host, &ca_only);
    let refused = build(&session, &workspace, &session.new_cache_dir());
    refused.expect_failure();
    assert_eq!(refused.result_of("rig/base"), Some("FAILED"), "{}", refused.describe());
    let log = workspace.log("rig/base");
    eprintln!("the build without a client certificate:\n{}", refused.output());
    eprintln!("nginx error log without a client certificate:\n{}", nginx.error_log());
    assert!(
        nginx.error_log().contains("client sent no required SSL certificate"),
        "nginx refused the request for want of a client certificate:\n{}",
        nginx.error_log()
    );
    // wget had the CA (the server's certificate is verified) but no certificate to present; portage
    // then stops (with a traceback: its error path for a failed binrepos.conf fetchcommand is broken),
    // so nothing is silently built from source instead.
    assert!(
        log.contains("Loaded CA certificate '/run/buildah-gentoo/certs/")
            && log.contains("ERROR 400: Bad Request.")
            && log.contains("https://localhost:"),
        "the log shows wget's refused request:\n{log}"
    );
    assert!(Emerged::parse(&log).source.is_empty(), "nothing was built from source instead:\n{log}");
    let refused_requests = nginx.access_log();
    assert!(
        refused_requests.lines().all(|line| line.contains("\" 400 ") && line.contains("verify=NONE")),
        "every request without a certificate was refused:\n{refused_requests}"
    );

    // With the client certificate: every package comes from the binhost.
    let certs = temp.join("x509/certs.d");
    let folder = certificates.certs_d(&certs, host, true, true);
    write_settings(&workspace, host, &certs);
    let plan = session.xtask(&workspace, &["plan", "rig/hello"]);
    plan.expect_success();
    let mount = format!("source={folder},destination=/run/buildah-gentoo/certs/{host},ro");
    assert!(plan.stdout.contains(&mount), "the plan shows the mount {mount}:\n{}", plan.stdout);
    assert!(plan.stdout.contains("--certificate=/run/buildah-gentoo/certs/"), "{}", plan.stdout);

    let empty_cache = session.new_cache_dir();
    let built = build(&session, &workspace, &empty_cache);
    built.expect_success();
    for (image, cpv) in PACKAGES {
        let emerged = workspace.emerged(image);
        assert_eq!(emerged.binary, vec![cpv.to_owned()], "{image} merges {cpv} from the binhost");
        assert!(emerged.source.is_empty(), "{image} builds nothing from source: {emerged:?}");
    }
    let access = nginx.access_log();
    eprintln!("nginx access log:\n{access}");
    let accepted: Vec<&str> = access.lines().filter(|line| line.contains("verify=SUCCESS")).collect();
    assert!(
        accepted.iter().any(|line| line.contains(&format!("GET /{key}/Packages")) && line.contains("\" 200 ")),
        "the index was fetched with the client certificate:\n{access}"
    );
    for path in &published {
        let fetched = accepted.iter().any(|line| {
            line.contains(&format!("\"GET /{key}/{path} HTTP/1.1\" 200 ")) && line.contains("client=\"CN=")
        });
        assert!(fetched, "{path} was fetched with the client certificate:\n{access}");
    }
    let built_here = package_files(&empty_cache.join("binpkgs").join(&key));
    assert!(built_here.is_empty(), "nothing was built into the empty cache: {built_here:?}");

    // No file of the certificates folder in any image: their files, every layer, the tool's files.
    let needles = needles_of(&folder);
    let needles_file = temp.join("needles");
    std::fs::write(&needles_file, needles.iter().map(|n| format!("{n}\n")).collect::<String>()).unwrap();
    assert_eq!(e2e::grep_files(&needles_file, &[folder.as_str()]).len(), 3, "grep finds the needles where they are");
    let work = workspace.root().join("target/buildah-gentoo");
    assert_eq!(
        e2e::grep_files(&needles_file, &[work.as_str()]),
        Vec::<String>::new(),
        "certificates in the tool's files"
    );
    for finished in [&built, &plan] {
        for needle in &needles {
            assert!(!finished.output().contains(needle.as_str()), "a certificate line in the output");
        }
    }
    for image in IMAGES {
        let reference = session.latest(image);
        let container = e2e::buildah_ok(&["from", "--pull=never", "--quiet", &reference]);
        let mounted = e2e::buildah(&["mount", &container]);
        let found = mounted.success().then(|| e2e::grep_files(&needles_file, &[mounted.stdout.trim()]));
        let leftovers = mounted.success().then(|| {
            let run = mounted.stdout.trim().to_owned() + "/run/buildah-gentoo";
            let mut find = Command::new("find");
            find.args([run.as_str(), "-type", "f"]);
            e2e::run(find)
        });
        let binrepos = mounted
            .success()
            .then(|| std::fs::read_to_string(format!("{}/etc/portage/binrepos.conf/tls.conf", mounted.stdout.trim())));
        e2e::buildah(&["umount", &container]);
        e2e::buildah_ok(&["rm", &container]);
        mounted.expect_success();
        assert_eq!(found, Some(Vec::new()), "certificates in the files of {reference}");
        let leftovers = leftovers.unwrap();
        assert!(leftovers.stdout.trim().is_empty(), "files under the mount point in {reference}: {}", leftovers.stdout);
        let binrepos = binrepos.unwrap().expect("the binhost's binrepos.conf is in the image");
        assert!(
            binrepos.contains("fetchcommand = ") && !binrepos.contains("/run/buildah-gentoo"),
            "the image's binrepos.conf names no path of the build's mounts:\n{binrepos}"
        );
        assert!(
            binrepos.contains(&format!("sync-uri = https://{host}/{key}\n")),
            "the keyed binhost is fetched from the folder of the build's flags:\n{binrepos}"
        );
        assert!(
            !e2e::image_env(&reference).iter().any(|entry| entry.starts_with("BUILDAH_GENTOO_WGET_TLS")),
            "the build's environment is not the image's"
        );

        // Every layer, lower ones included, as an OCI layout.
        let layout = temp.join(format!("oci-{}", image.replace('/', "+")));
        e2e::buildah_ok(&["push", "--quiet", &reference, &format!("oci:{layout}")]);
        let scanned = e2e::scan_oci_layout(&layout, &needles_file, &reference);
        assert_eq!(
            scanned.code,
            Some(1),
            "certificates in layers of {reference} (or zgrep failed):\n{}",
            scanned.describe()
        );
    }
}
