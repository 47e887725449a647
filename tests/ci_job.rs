//! `cargo xtask ci job IMAGE` against a real registry (TLS, on loopback), each job on a storage that
//! holds nothing of the tree but the rig root (what a fresh CI runner has; the rig root stands in for
//! a stage3 it would pull): a cold job builds and pushes; a child's job pulls its parent by its
//! input-hash tag; an unchanged job is `up to date (registry)` after one question per image of its
//! chain and moves no layer; a changed definition builds again, its packages from the binhost the
//! jobs publish to (nothing compiles on a runner with an empty cache).
//!
//! Run with `BUILDAH_ISOLATION=chroot cargo xtask test -- --test ci_job`.

use buildah_gentoo_tests::e2e::*;
use buildah_gentoo_tests::servers::{Certificates, Nginx, Registry, RegistryOptions};
use camino::Utf8PathBuf;
use serde_json::Value;

const HELLO_RS: &str = "image-defs/src/images/rig/hello.rs";

struct Farm {
    session: Session,
    registry: Registry,
    certs_d: Utf8PathBuf,
    /// The folder jobs publish binary packages to, which nginx serves.
    binhost: Utf8PathBuf,
    _temp: tempfile::TempDir,
}

impl Farm {
    /// Removes every image of the tree from local storage, under our namespace or the registry's
    /// name: what a fresh runner has (the rig root stays, as a stage3 would be pulled).
    fn forget(&self) {
        let prefixes = [format!("{}/", self.session.namespace), format!("{}/", self.registry.host)];
        for image in stored_images() {
            if image.names.iter().any(|name| prefixes.iter().any(|prefix| name.starts_with(prefix.as_str()))) {
                buildah_ok(&["rmi", "--force", &image.id]);
            }
        }
    }

    /// Whether local storage holds any image of the tree.
    fn holds_any(&self) -> bool {
        let prefixes = [format!("{}/", self.session.namespace), format!("{}/", self.registry.host)];
        stored_images()
            .iter()
            .any(|image| image.names.iter().any(|name| prefixes.iter().any(|prefix| name.starts_with(prefix.as_str()))))
    }

    /// `ci job IMAGE --json` in `ws`, on a storage without the tree's images.
    fn job(&self, ws: &Workspace, image: &str) -> Value {
        self.job_with_cache(ws, image, &self.session.cache_dir())
    }

    /// Like [`Farm::job`], with another binary package cache.
    fn job_with_cache(&self, ws: &Workspace, image: &str, cache: &camino::Utf8Path) -> Value {
        self.forget();
        let args = [
            "--registry",
            &self.registry.host,
            "--certs-dir",
            self.certs_d.as_str(),
            "--binhost-publish",
            self.binhost.as_str(),
            "ci",
            "job",
            image,
            "--json",
        ];
        let finished = self.session.xtask_with_cache(ws, cache, &args);
        finished.expect_success();
        serde_json::from_str(&finished.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", finished.stdout))
    }
}

#[test]
fn jobs_share_nothing_but_the_registry() {
    let session = Session::start("ci-job");
    let ws = Workspace::copy();
    let temp = tempfile::Builder::new().prefix("e2e-ci-job-").tempdir().unwrap();
    let dir = Utf8PathBuf::from_path_buf(temp.path().to_owned()).unwrap();
    let certificates = Certificates::make(&dir.join("pki"));
    let registry = Registry::start(&dir.join("registry"), &certificates, &RegistryOptions::default());
    let certs_d = dir.join("certs.d");
    certificates.certs_d(&certs_d, &registry.host, true, false);
    let binhost = dir.join("binhost");
    std::fs::create_dir_all(&binhost).unwrap();
    // Every job fetches from the binhost the jobs publish to (nginx serving the folder), as CI
    // variables would say for the whole pipeline: the binhost is part of every image's build.
    let nginx = Nginx::start_http(&dir.join("nginx"), &binhost);
    std::fs::write(
        ws.root().join(xtask::settings::SETTINGS_FILE),
        format!("[[binhost]]\nname = \"farm\"\nuri = \"http://127.0.0.1:{}\"\nverify-signature = false\n", nginx.port),
    )
    .unwrap();
    let farm = Farm { session, registry, certs_d, binhost, _temp: temp };

    // Cold: rig/base builds and goes up; its child's job pulls it from the registry, by its tag.
    let base = farm.job(&ws, "rig/base");
    assert_eq!(base["status"], "built", "{base:#}");
    assert!(
        base["pushed"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("/rig/base@sha256:")),
        "{base:#}"
    );
    let hello = farm.job(&ws, "rig/hello");
    assert_eq!(hello["status"], "built", "{hello:#}");
    let pulled: Vec<&str> = hello["pulled"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let base_hash = base["input_hash"].as_str().unwrap();
    assert_eq!(pulled.len(), 1, "{hello:#}");
    assert!(pulled[0].ends_with(&format!("/rig/base:inputs-{base_hash}")), "{hello:#}");

    // Nothing changed: each job asks one question per image of its chain, pulls nothing, and local
    // storage gets no image of the tree.
    for (image, questions) in [("rig/base", 1), ("rig/hello", 2)] {
        let again = farm.job(&ws, image);
        assert_eq!(again["status"], "up to date (registry)", "{again:#}");
        assert_eq!(again["registry_queries"], questions, "{again:#}");
        assert!(again["pulled"].as_array().unwrap().is_empty(), "{again:#}");
        assert!(!farm.holds_any(), "{image}'s job pulled or built an image");
    }
    assert_eq!(farm.job(&ws, "rig/hello")["input_hash"], hello["input_hash"]);

    // A changed leaf: only its job builds, on a runner with an empty package cache, whose packages
    // come from the binhost the earlier jobs published to: nothing compiles.
    ws.edit(HELLO_RS, "hello from the rig\")", "hello from the rig, changed\")");
    let empty_cache = farm.session.new_cache_dir();
    let changed = farm.job_with_cache(&ws, "rig/hello", &empty_cache);
    assert_eq!(changed["status"], "built", "{changed:#}");
    assert_ne!(changed["input_hash"], hello["input_hash"]);
    let emerged = ws.emerged("rig/hello");
    assert!(emerged.source.is_empty(), "a job with a warm binhost compiles nothing: {emerged:?}");
    assert_eq!(emerged.binary, vec!["app-misc/hello-1".to_owned()], "{emerged:?}");
    let access = nginx.access_log();
    assert!(
        access.contains("/app-misc/hello/hello-1-") && access.contains(" 200 "),
        "fetched from the binhost:\n{access}"
    );
    assert_eq!(farm.job(&ws, "rig/base")["status"], "up to date (registry)");
    assert!(farm.registry.log().contains("inputs-"), "the registry served the tags");

    // A laptop takes what CI built: `build --remote-check` pulls both images and builds nothing.
    farm.forget();
    let host = farm.registry.host.clone();
    let args = ["--registry", &host, "--certs-dir", farm.certs_d.as_str(), "build", "--remote-check", "rig/hello"];
    let laptop = farm.session.xtask(&ws, &args);
    laptop.expect_success();
    for image in ["rig/base", "rig/hello"] {
        assert_eq!(laptop.result_of(image), Some("up to date"), "{image}:\n{}", laptop.stdout);
    }
    assert_eq!(
        farm.session.id("rig/hello"),
        image_id(&format!("{host}{}:inputs-{}", &changed_repository(&farm), changed["input_hash"].as_str().unwrap())),
        "the image CI built, by its id"
    );
}

/// `/<namespace path>/rig/hello` as the registry names it.
fn changed_repository(farm: &Farm) -> String {
    let path = farm.session.namespace.split_once('/').map_or(farm.session.namespace.as_str(), |(_, rest)| rest);
    format!("/{path}/rig/hello")
}
