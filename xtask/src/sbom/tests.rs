use camino::{Utf8Path, Utf8PathBuf};

use super::*;

/// A root filesystem with a package database of `entries`: (`category/PF`, [(file, contents)]).
pub fn fake_root(entries: &[(&str, &[(&str, &str)])]) -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    for (cpv, files) in entries {
        let entry = root.join("var/db/pkg").join(cpv);
        std::fs::create_dir_all(&entry).unwrap();
        for (name, contents) in *files {
            std::fs::write(entry.join(name), contents).unwrap();
        }
    }
    (dir, root)
}

fn hello_root() -> (tempfile::TempDir, Utf8PathBuf) {
    fake_root(&[
        (
            "app-misc/hello-1.2-r1",
            &[
                ("USE", "elibc_glibc extra kernel_linux\n"),
                ("IUSE", "extra +doc\n"),
                ("LICENSE", "|| ( MIT Apache-2.0 ) public-domain\n"),
                ("repository", "gentoo\n"),
                ("SLOT", "0\n"),
                ("SRC_URI", "extra? ( https://example.org/hello-1.2.tar.gz -> h.tar.gz )\n"),
                ("HOMEPAGE", "https://example.org https://mirror.example.org\n"),
                ("CONTENTS", "dir /usr/bin\nobj /usr/bin/hello 0123 1700000000\nsym /usr/bin/hi -> hello 1700000000\n"),
            ],
        ),
        ("dev-libs/gtk+-3", &[("LICENSE", "LGPL-2+\n"), ("repository", "gentoo\n")]),
        ("dev-libs/-MERGING-half-1", &[("LICENSE", "MIT\n")]),
    ])
}

fn info(inputs: Option<&str>) -> DocumentInfo<'_> {
    DocumentInfo { image: "rig/hello", created: 1_763_856_000, inputs }
}

#[test]
fn the_package_database_is_read_in_order_without_entries_being_merged() {
    let (_dir, root) = hello_root();
    let packages = vdb::read(&root).unwrap();
    let cpvs: Vec<String> = packages.iter().map(InstalledPackage::cpv).collect();
    assert_eq!(cpvs, ["app-misc/hello-1.2-r1", "dev-libs/gtk+-3"]);
    assert_eq!(packages[0].use_flags, ["-doc", "extra"]);
    assert_eq!(packages[0].files, [("/usr/bin/hello".to_owned(), "0123".to_owned())]);
    assert!(vdb::read(Utf8Path::new("/nonexistent-root")).unwrap().is_empty());
}

#[test]
fn every_installed_package_is_described_with_use_flags_license_source_and_files() {
    let (_dir, root) = hello_root();
    let text = generate(&root, info(Some("ab12"))).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    assert_eq!(document["dataLicense"], "CC0-1.0");
    assert_eq!(document["documentNamespace"], "https://buildah-gentoo.invalid/spdx/rig/hello/ab12");
    assert_eq!(document["creationInfo"]["created"], "2025-11-23T00:00:00Z");
    let packages = document["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 3, "the image and its two packages");
    let hello = &packages[1];
    assert_eq!(hello["name"], "app-misc/hello");
    assert_eq!(hello["versionInfo"], "1.2-r1");
    assert_eq!(hello["licenseDeclared"], "(MIT OR Apache-2.0) AND LicenseRef-gentoo-public-domain");
    assert_eq!(hello["downloadLocation"], "https://example.org/hello-1.2.tar.gz");
    assert_eq!(hello["homepage"], "https://example.org");
    assert_eq!(hello["comment"], "USE: -doc extra; SLOT: 0");
    assert_eq!(hello["externalRefs"][0]["referenceLocator"], "pkg:ebuild/app-misc/hello@1.2-r1?repository=gentoo");
    let gtk = &packages[2];
    assert_eq!(gtk["downloadLocation"], "NOASSERTION");
    assert_eq!(gtk["externalRefs"][0]["referenceLocator"], "pkg:ebuild/dev-libs/gtk%2B@3?repository=gentoo");
    assert_eq!(document["files"][0]["fileName"], "./usr/bin/hello");
    assert_eq!(document["files"][0]["checksums"][0], json!({"algorithm": "MD5", "checksumValue": "0123"}));
    assert_eq!(document["hasExtractedLicensingInfos"][0]["licenseId"], "LicenseRef-gentoo-public-domain");
    let relationships = document["relationships"].as_array().unwrap();
    let has = |from: &Value, kind: &str, to: &Value| {
        relationships
            .iter()
            .any(|r| r["spdxElementId"] == *from && r["relationshipType"] == kind && r["relatedSpdxElement"] == *to)
    };
    assert!(has(&json!("SPDXRef-DOCUMENT"), "DESCRIBES", &json!("SPDXRef-Image")));
    assert!(has(&json!("SPDXRef-Image"), "CONTAINS", &hello["SPDXID"]));
    assert!(has(&hello["SPDXID"], "CONTAINS", &document["files"][0]["SPDXID"]));
}

#[test]
fn the_same_database_gives_the_same_bytes_and_the_namespace_follows_the_content() {
    let (_dir, root) = hello_root();
    assert_eq!(generate(&root, info(None)).unwrap(), generate(&root, info(None)).unwrap());
    let (_other_dir, other) = fake_root(&[("app-misc/hello-1", &[("LICENSE", "MIT\n")])]);
    let namespace = |root: &Utf8Path| {
        let document: Value = serde_json::from_str(&generate(root, info(None)).unwrap()).unwrap();
        document["documentNamespace"].as_str().unwrap().to_owned()
    };
    assert_ne!(namespace(&root), namespace(&other));
}

#[test]
fn a_broken_entry_names_itself() {
    let (_dir, root) = fake_root(&[("app-misc/noversion", &[("LICENSE", "MIT\n")])]);
    let error = format!("{:#}", generate(&root, info(None)).unwrap_err());
    assert!(error.contains("var/db/pkg/app-misc/noversion") && error.contains("expected"), "{error}");
}
