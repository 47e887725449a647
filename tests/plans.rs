//! Snapshots of every example image's plan script and of every portage file it generates. A change
//! to the generated commands fails here until the new snapshot is reviewed (`cargo insta review`).

use buildah_gentoo_tests::{fixed_inputs, fixed_settings};
use image_defs::{accept_keywords, atom, package_use, use_flags, Layout, Parent, Registry, Root, Spec};
use xtask::plan::ContextFile;
use xtask::plan::{self, script, Step};

#[test]
fn every_image_plan_and_generated_file_matches_its_snapshot() {
    let registry = Registry::global().expect("the example images are valid");
    let settings = fixed_settings();
    let inputs = fixed_inputs(registry, &settings);
    let mut checked = 0;
    for image in registry.in_order() {
        let name = image.name();
        let stem = plan::file_stem(name);
        let plan = plan::plan(&[image], &inputs).unwrap_or_else(|e| panic!("planning {name}: {e:#}"));
        insta::assert_snapshot!(format!("plan@{stem}"), script::render(&plan, name));
        for file in &plan.images[0].context_files {
            let file_name = file.path.replace('/', "~");
            insta::assert_snapshot!(format!("file@{stem}@{file_name}"), file.contents);
        }
        checked += 1;
    }
    assert!(checked >= 8, "expected at least the eight example images, planned {checked}");
}

#[test]
fn planning_is_deterministic_and_ordered() {
    let registry = Registry::global().unwrap();
    let settings = fixed_settings();
    let inputs = fixed_inputs(registry, &settings);
    let images = registry.with_ancestors(&["ansible"]).unwrap();
    let names: Vec<&str> = images.iter().map(|image| image.name()).collect();
    assert_eq!(names, ["stage3", "base", "python", "ansible"]);
    let first = plan::plan(&images, &inputs).unwrap();
    let second = plan::plan(&images, &inputs).unwrap();
    assert_eq!(first, second);
    assert_eq!(script::render(&first, "ansible"), script::render(&second, "ansible"));
}

#[test]
fn a_repository_image_is_mounted_once_for_the_whole_plan() {
    let registry = Registry::global().unwrap();
    let mut settings = fixed_settings();
    settings.repository = xtask::settings::RepositorySource::Image("docker.io/gentoo/portage:latest".into());
    let inputs = fixed_inputs(registry, &settings);
    let images = registry.with_ancestors(&["nginx"]).unwrap();
    let plan = plan::plan(&images, &inputs).unwrap();
    insta::assert_snapshot!("plan@nginx-with-parents-and-repository-image", script::render(&plan, "nginx --deps"));
}

/// The binrepos.conf files an image's build writes (a keyed binhost's key shown as the variable).
fn binrepos_files(image: &xtask::plan::ImagePlan) -> String {
    let key = xtask::plan::binpkg_cache::BINPKG_KEY;
    let vars = std::collections::BTreeMap::from([(key, format!("${{{}}}", key.0))]);
    let files: Vec<String> = image
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::WriteFile { path, contents, .. } if path.starts_with("/etc/portage/binrepos.conf/") => {
                Some(format!("{path}:\n{}\n", contents.resolve(&vars).unwrap()))
            }
            _ => None,
        })
        .collect();
    assert!(!files.is_empty(), "no binrepos.conf file is written");
    files.join("\n")
}

#[test]
fn remote_binhosts_become_binrepos_files_and_getbinpkg() {
    let registry = Registry::global().unwrap();
    let mut settings = fixed_settings();
    settings.binhost_keyring = Some("/etc/buildah-gentoo/binhost-keys".into());
    settings.binhosts = vec![
        xtask::settings::Binhost {
            name: "central".into(),
            uri: "https://binhost.example.org/amd64".into(),
            priority: 20,
            verify_signature: None,
            keyed: None,
        },
        xtask::settings::Binhost {
            name: "local".into(),
            uri: "http://127.0.0.1:8080".into(),
            priority: 10,
            verify_signature: Some(false),
            // One package folder, as Gentoo's own binhost is.
            keyed: Some(false),
        },
    ];
    let inputs = fixed_inputs(registry, &settings);
    let plan = plan::plan(&[registry.get("rig/hello").unwrap()], &inputs).unwrap();
    insta::assert_snapshot!("plan@rig+hello-with-binhosts", script::render(&plan, "rig/hello"));
    insta::assert_snapshot!("files@rig+hello-binrepos", binrepos_files(&plan.images[0]));
}

#[test]
fn a_tls_binhost_gets_its_certificates_mounted_for_emerge_only_and_never_copied() {
    let registry = Registry::global().unwrap();
    let mut settings = fixed_settings();
    let binhost = |name: &str, uri: &str| xtask::settings::Binhost {
        name: name.into(),
        uri: uri.into(),
        priority: 10,
        verify_signature: Some(false),
        keyed: None,
    };
    settings.certs_dir = Some("/etc/buildah-gentoo/certs.d".into());
    settings.binhosts = vec![
        binhost("lab", "https://binhost.example.org:8443/amd64"),
        binhost("lab-mirror", "https://binhost.example.org:8443/mirror"),
        binhost("public", "https://public.example.org/amd64"),
    ];
    // What gathering the inputs finds in `<certs-dir>/binhost.example.org:8443/` (the planner does no I/O).
    let mut inputs = fixed_inputs(registry, &settings);
    inputs.binhost_tls.insert(
        "binhost.example.org:8443".into(),
        xtask::settings::BinhostTls {
            dir: "/etc/buildah-gentoo/certs.d/binhost.example.org:8443".into(),
            ca: Some("ca.crt".into()),
            client: Some(("client.cert".into(), "client.key".into())),
        },
    );
    let plan = plan::plan(&[registry.get("rig/greeter").unwrap()], &inputs).unwrap();
    let script = script::render(&plan, "rig/greeter");
    insta::assert_snapshot!("plan@rig+greeter-with-tls-binhost", script);
    insta::assert_snapshot!("files@rig+greeter-tls-binrepos", binrepos_files(&plan.images[0]));

    // One mount for the folder both binhosts on that host share, on the emerge step only: not on
    // depclean, which fetches nothing.
    assert!(script.contains("--depclean"), "{script}");
    assert_eq!(script.matches("source=/etc/buildah-gentoo/certs.d/binhost.example.org:8443,").count(), 1, "{script}");
    let steps = &plan.images[0].steps;
    let emerge = steps.iter().position(|step| step.command().to_shell().contains("--getbinpkg")).unwrap();
    for (index, step) in steps.iter().enumerate() {
        let shell = step.command().to_shell();
        assert_eq!(shell.contains("certs.d"), index == emerge, "step {index}: {shell}");
        // The wget options are set on the emerge step alone (binrepos.conf only names the variable).
        assert_eq!(shell.contains("BUILDAH_GENTOO_WGET_TLS_LAB="), index == emerge, "step {index}: {shell}");
    }
    // The generated files name no mounted path: the image keeps them after the build.
    for file in &plan.images[0].context_files {
        assert!(!file.contents.contains("/run/buildah-gentoo") && !file.contents.contains("certs.d"), "{file:?}");
    }
    let binrepos = binrepos_files(&plan.images[0]);
    assert!(!binrepos.contains("/run/buildah-gentoo") && !binrepos.contains("certs.d"), "{binrepos}");
}

#[test]
fn site_mirrors_reach_the_emerge_steps_alone_quoted_and_change_no_input_hash() {
    let registry = Registry::global().unwrap();
    let plain = fixed_settings();
    let mut settings = fixed_settings();
    // Two mirrors, one with characters a shell would take apart: the rendered script quotes them.
    settings.gentoo_mirrors = vec!["https://mirror.example/gentoo".into(), "http://127.0.0.1:8080/it's-$HOME".into()];
    let (plain_inputs, inputs) = (fixed_inputs(registry, &plain), fixed_inputs(registry, &settings));
    let value = "GENTOO_MIRRORS=https://mirror.example/gentoo http://127.0.0.1:8080/it's-$HOME";
    for name in ["rig/rigsay", "rig/greeter-min"] {
        let image = registry.get(name).unwrap();
        let plan = plan::plan(&[image], &inputs).unwrap();
        let steps = &plan.images[0].steps;
        let installs: Vec<usize> = (0..steps.len())
            .filter(|&index| {
                matches!(&steps[index], plan::Step::Run { argv, .. } if argv[0] == "emerge" && argv[1] != "--depclean")
            })
            .collect();
        assert_eq!(installs.len(), 1, "{name}: {steps:#?}");
        for (index, step) in steps.iter().enumerate() {
            let argv = step.command().argv;
            let has = argv.contains(&plan::Word::text(value));
            assert_eq!(has, installs.contains(&index), "{name}, step {index}: {argv:?}");
        }
        // No layer holds it: no generated file names it.
        for file in &plan.images[0].context_files {
            assert!(!file.contents.contains("mirror.example"), "{name}: {file:?}");
        }
        // Where distfiles come from is no input: the same hash with and without the mirrors.
        let builder = registry.builder_of(image).map(|_| "sha256:2222");
        let hash = |inputs| plan::input_hash(image, inputs, "sha256:1111", builder).unwrap();
        assert_eq!(hash(&inputs), hash(&plain_inputs), "{name}");
    }
    let plan = plan::plan(&[registry.get("rig/rigsay").unwrap()], &inputs).unwrap();
    insta::assert_snapshot!("plan@rig+rigsay-with-mirrors", script::render(&plan, "rig/rigsay"));
}

#[test]
fn a_minimal_child_lists_what_its_minimal_parent_holds_in_package_provided() {
    let registry = Registry::global().unwrap();
    let settings = fixed_settings();
    let inputs = fixed_inputs(registry, &settings);
    let plan = plan::plan(&[registry.get("rig/hello-min").unwrap()], &inputs).unwrap();
    let image = &plan.images[0];
    let minimal = image.minimal.as_ref().unwrap();
    assert_eq!(minimal.minimal_parent.as_deref(), Some("rig/greeter-min"));
    let script = script::render(&plan, "rig/hello-min");
    // Read from the parent's labels when the plan runs (the executor runs the same line)...
    let read = image
        .steps
        .iter()
        .find_map(|step| match step {
            xtask::plan::Step::ReadLabels { reference, keys, into } => Some((reference, keys, into)),
            _ => None,
        })
        .expect("a step reads the parent's labels");
    assert_eq!(read.0, "localhost/gentoo/rig/greeter-min:latest");
    assert_eq!(read.1, &["io.buildah-gentoo.packages", "io.buildah-gentoo.provided"]);
    assert_eq!(*read.2, xtask::plan::step::PARENT_PACKAGES);
    // ... written into the builder's package.provided, the value an argument of a fixed script ...
    assert!(script.contains("sh \"${parent_packages}\")"), "{script}");
    // ... and recorded, so the child's own children know everything it holds.
    assert!(script.contains("--label 'io.buildah-gentoo.provided='\"${provided}\""), "{script}");
    assert!(image.context_files.iter().all(|file| !file.path.contains("package.provided")));

    // On scratch (its parent is full) there is nothing to provide.
    let busybox = plan::plan(&[registry.get("rig/busybox").unwrap()], &inputs).unwrap();
    let script = script::render(&busybox, "rig/busybox");
    assert!(!script.contains("provided=$("), "{script}");
    assert!(script.contains("--label 'io.buildah-gentoo.provided='"), "{script}");
    assert_eq!(busybox.images[0].base, plan::Base::Scratch);
}

image_defs::image! {
    /// The chain's full builder, on the rig root.
    ChainBuilder = Spec {
        name: "chain/builder",
        parent: Parent::Root(Root::Rig),
        make_conf: &[("CFLAGS", "-O2 -pipe")],
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// Another full builder on the same root, with fragments of its own up to number 11.
    ChainTools = Spec {
        name: "chain/tools",
        parent: Parent::image(&ChainBuilder),
        make_conf: &[("CFLAGS", "-O2 -pipe -g")],
        packages: &[atom!("sys-devel/gcc")],
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// The chain's top: minimal on the full builder, so built in it.
    ChainBase = Spec {
        name: "chain/base",
        parent: Parent::image(&ChainBuilder),
        layout: Layout::Minimal,
        packages: &[atom!("dev-libs/libgreet")],
        use_flags: use_flags!("-nls"),
        package_use: &[package_use!("dev-libs/libgreet" => "-static-libs")],
        accept_keywords: &[accept_keywords!("dev-libs/libgreet" => "~amd64")],
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// `chain/base` with other USE, to see the change reach its descendants' input hashes.
    ChainBaseWithNls = Spec {
        name: "chain/base",
        use_flags: use_flags!("nls"),
        ..ChainBase::SPEC
    };
}
image_defs::image! {
    /// In the middle: inherits its parent's builder.
    ChainMiddle = Spec {
        name: "chain/middle",
        parent: Parent::named("chain/base"),
        layout: Layout::Minimal,
        packages: &[atom!("app-misc/greeter")],
        masks: &[atom!(">=app-misc/greeter-2")],
        make_conf: &[("GREETER_NAME", "chain")],
        ..Spec::DEFAULT
    };
}
image_defs::image! {
    /// The leaf: states another builder on the same root.
    ChainLeaf = Spec {
        name: "chain/leaf",
        parent: Parent::image(&ChainMiddle),
        layout: Layout::Minimal,
        builder: Some(Parent::image(&ChainTools)),
        packages: &[atom!("app-misc/hello")],
        use_flags: use_flags!("ipv6"),
        package_use: &[package_use!("app-misc/hello" => "extra")],
        ..Spec::DEFAULT
    };
}

/// A minimal image's builder gets the portage files of every minimal ancestor, then its own: the
/// make.conf fragments numbered after the builder's own (and so after its ancestors'), in chain
/// order; the package.* files one per image.
#[test]
fn a_minimal_chain_brings_every_minimal_ancestors_portage_files_into_the_builder() {
    let registry = Registry::new(vec![&ChainBuilder, &ChainTools, &ChainBase, &ChainMiddle, &ChainLeaf])
        .unwrap_or_else(|e| panic!("{e}"));
    let settings = fixed_settings();
    let inputs = fixed_inputs(&registry, &settings);
    let context = |name: &str| -> Vec<ContextFile> {
        let plan = plan::plan(&[registry.get(name).unwrap()], &inputs).unwrap();
        plan.images[0].context_files.clone()
    };
    let paths = |files: &[ContextFile]| -> Vec<String> { files.iter().map(|file| file.path.clone()).collect() };

    let leaf = context("chain/leaf");
    // chain/tools (depth 1) has written 10-chain+builder.conf and 11-chain+tools.conf into its image.
    assert_eq!(
        paths(&leaf),
        [
            "etc/portage/make.conf/01-buildah-gentoo.conf",
            "etc/portage/make.conf/12-chain+base.conf",
            "etc/portage/package.use/chain+base",
            "etc/portage/package.accept_keywords/chain+base",
            "etc/portage/make.conf/13-chain+middle.conf",
            "etc/portage/package.mask/chain+middle",
            "etc/portage/make.conf/14-chain+leaf.conf",
            "etc/portage/package.use/chain+leaf",
        ]
    );
    let files: Vec<String> = leaf.iter().skip(1).map(|file| format!("/{}:\n{}", file.path, file.contents)).collect();
    insta::assert_snapshot!("files@chain+leaf-builder-context", files.join("\n"));

    // Built in chain/builder (depth 0): its fragments start at 11.
    assert_eq!(
        paths(&context("chain/middle")),
        [
            "etc/portage/make.conf/01-buildah-gentoo.conf",
            "etc/portage/make.conf/11-chain+base.conf",
            "etc/portage/package.use/chain+base",
            "etc/portage/package.accept_keywords/chain+base",
            "etc/portage/make.conf/12-chain+middle.conf",
            "etc/portage/package.mask/chain+middle",
        ]
    );
    // The chain's files are generated files of the leaf: an ancestor's USE is part of its input hash.
    let leaf_hash = |registry: &Registry| {
        let inputs = fixed_inputs(registry, &settings);
        plan::input_hash(registry.get("chain/leaf").unwrap(), &inputs, "scratch", Some("sha256:00")).unwrap()
    };
    let other = Registry::new(vec![&ChainBuilder, &ChainTools, &ChainBaseWithNls, &ChainMiddle, &ChainLeaf])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(leaf_hash(&registry), leaf_hash(&other));
}

/// The input hash is a value of the plan when every image an image starts from is in storage, and a
/// printed step when the same plan builds it; an image whose hash storage marks as `latest` is up to
/// date unless forced; the replaced image's input-hash tag is removed after the new tags.
#[test]
fn input_hashes_are_values_when_parents_exist_and_steps_when_the_plan_builds_them() {
    let registry = Registry::global().unwrap();
    let settings = fixed_settings();
    let mut inputs = fixed_inputs(registry, &settings);
    let root_id = "1".repeat(64);
    let base_id = "2".repeat(64);
    let listing = |names: &[(&str, &str)]| {
        let images: Vec<serde_json::Value> = names
            .iter()
            .map(|(id, name)| serde_json::json!({ "id": format!("sha256:{id}"), "names": [name] }))
            .collect();
        xtask::plan::ImageIndex::parse(&serde_json::Value::Array(images).to_string()).unwrap()
    };
    inputs.storage = listing(&[(&root_id, &inputs.rig_root), (&base_id, "localhost/gentoo/rig/base:latest")]);
    inputs.repositories.rig = "rig 0123".into();
    let images = registry.with_ancestors(&["rig/hello"]).unwrap();
    let plan = plan::plan(&images, &inputs).unwrap();
    let [base, hello] = &plan.images[..] else { panic!("two images: {plan:#?}") };
    // rig/base: its parent (the rig root) is in storage.
    let hash = base.input_hash.clone().expect("a value");
    assert_eq!(hash.len(), 32);
    assert_eq!(base.prelude, [xtask::plan::Step::Assign { into: xtask::plan::step::INPUTS, value: hash.clone() }]);
    // rig/hello: its parent is rebuilt by this plan, so its hash is computed when the plan runs, by
    // the same function the printed `cargo xtask inputs` calls.
    assert_eq!(hello.input_hash, None);
    let script = script::render(&plan, "rig/hello");
    assert!(
        script.contains(
            "base_id=$(buildah inspect --type image --format '{{.FromImageID}}' localhost/gentoo/rig/base:latest)"
        ),
        "{script}"
    );
    let Some(xtask::plan::Step::InputHash { partial, .. }) = hello.prelude.last() else {
        panic!("{:#?}", hello.prelude)
    };
    assert_eq!(
        hello.prelude.last().unwrap().command().to_shell(),
        format!("inputs=$(cargo xtask inputs {partial} --base-id \"${{base_id}}\")")
    );
    assert_eq!(
        xtask::plan::input_hash::combine(partial, &base_id, None),
        plan::input_hash(registry.get("rig/hello").unwrap(), &inputs, &base_id, None).unwrap()
    );
    let hello_image = registry.get("rig/hello").unwrap();
    assert_eq!(
        plan::plan(&[hello_image], &inputs).unwrap().images[0].input_hash.as_deref(),
        Some(plan::input_hash(hello_image, &inputs, &base_id, None).unwrap().as_str()),
        "planned alone on the stored parent, the value is what the step computes"
    );
    assert!(script.contains("--label 'io.buildah-gentoo.inputs='\"${inputs}\""), "{script}");
    assert!(script.contains("localhost/gentoo/rig/hello:inputs-\"${inputs}\""), "{script}");

    // Storage marks rig/base's `latest` with this hash: up to date, unless forced.
    let old_hash = "0".repeat(32);
    inputs.storage = listing(&[(&root_id, &inputs.rig_root), (&base_id, "localhost/gentoo/rig/base:latest")]);
    let marked = serde_json::json!([
        { "id": root_id, "names": [inputs.rig_root] },
        { "id": base_id, "names": ["localhost/gentoo/rig/base:latest", format!("localhost/gentoo/rig/base:inputs-{hash}"),
                                   format!("localhost/gentoo/rig/base:inputs-{old_hash}")] },
    ]);
    inputs.storage = xtask::plan::ImageIndex::parse(&marked.to_string()).unwrap();
    inputs.force = true;
    let forced = plan::plan(&images, &inputs).unwrap();
    assert_eq!(forced.images[0].status, plan::Status::Build);
    let untag: Vec<String> = forced.images[0]
        .steps
        .iter()
        .filter(|step| matches!(step, xtask::plan::Step::UntagStale { .. }))
        .map(|step| step.command().to_shell())
        .collect();
    assert_eq!(
        untag,
        [
            format!("[ localhost/gentoo/rig/base:inputs-\"${{inputs}}\" = localhost/gentoo/rig/base:inputs-{old_hash} ] || buildah rmi localhost/gentoo/rig/base:inputs-{old_hash} || true"),
            format!("[ localhost/gentoo/rig/base:inputs-\"${{inputs}}\" = localhost/gentoo/rig/base:inputs-{hash} ] || buildah rmi localhost/gentoo/rig/base:inputs-{hash} || true"),
        ]
    );
    inputs.force = false;
    let unforced = plan::plan(&images, &inputs).unwrap();
    assert_eq!(unforced.images[0].status, plan::Status::UpToDate { id: base_id.clone() });
    // Its child then starts from a known id: a value again.
    assert_eq!(
        unforced.images[1].input_hash.as_deref(),
        Some(plan::input_hash(hello_image, &inputs, &base_id, None).unwrap().as_str())
    );
    assert!(script::render(&unforced, "x").contains("# Image `rig/base`: up to date"));
}

/// An image on a stage3 tarball: the plan imports the tarball first (digest, signature, unpack,
/// the official images' tweaks), and the image starts from the import's digest tag.
#[test]
fn a_tarball_root_is_checked_and_imported_before_the_images_on_it() {
    use image_defs::{atom, Parent, Root, Spec};
    use xtask::plan::root_import::{root_repository, TarballImport};

    const TARBALL: &str = "stages/stage3-amd64-openrc-20261101T170000Z.tar.xz";
    image_defs::image! {
        OwnStage3 = Spec {
            name: "own-stage3",
            parent: Parent::Root(Root::tarball(TARBALL).keyring("keys/gentoo-release.gpg")),
            packages: &[atom!("app-misc/hello")],
            ..Spec::DEFAULT
        };
    }
    static OWN: OwnStage3 = OwnStage3;
    let registry = Registry::new(vec![&OWN]).unwrap();
    let settings = fixed_settings();
    let mut inputs = fixed_inputs(&registry, &settings);
    let import = TarballImport {
        path: TARBALL.into(),
        sha512: "0123456789abcdef".repeat(8),
        keyring: Some("keys/gentoo-release.gpg".into()),
        repository: root_repository(&settings, TARBALL),
    };
    inputs.tarballs.insert(TARBALL.into(), import.clone());
    let plan = plan::plan(&[&OWN], &inputs).unwrap();
    assert_eq!(plan.roots.len(), 1);
    assert_eq!(plan.images[0].base, plan::Base::Image(import.digest_tag()));
    assert_eq!(
        plan.roots[0].context_files[0].contents,
        format!("{}  {TARBALL}\n", "0123456789abcdef".repeat(8)),
        "sha512sum --check reads the digest and the path from the context"
    );
    insta::assert_snapshot!("plan@own-stage3-on-a-tarball", script::render(&plan, "own-stage3"));

    inputs.tarballs.clear();
    let error = plan::plan(&[&OWN], &inputs).unwrap_err().to_string();
    assert!(error.contains("own-stage3") && error.contains(TARBALL), "{error}");
}

/// A registry root pinned by digest stays pinned: the plan starts from that exact reference.
#[test]
fn a_registry_root_pinned_by_digest_is_used_verbatim() {
    use image_defs::{Parent, Spec};

    const PINNED: &str =
        "docker.io/gentoo/stage3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    image_defs::image! {
        Pinned = Spec { name: "pinned", parent: Parent::registry(PINNED), ..Spec::DEFAULT };
    }
    static PINNED_IMAGE: Pinned = Pinned;
    let registry = Registry::new(vec![&PINNED_IMAGE]).unwrap();
    let settings = fixed_settings();
    let plan = plan::plan(&[&PINNED_IMAGE], &fixed_inputs(&registry, &settings)).unwrap();
    assert_eq!(plan.images[0].base, plan::Base::Image(PINNED.into()));
    let script = script::render(&plan, "pinned");
    assert!(
        script
            .contains(&format!("'--pull=missing' \\\n    --quiet \\\n    --name bg-\"${{run}}\"-pinned-work {PINNED}")),
        "{script}"
    );
}

/// What a plan says of an image's input hash: the value, or the partial hash a step completes.
fn hash_of(plan: &plan::ImagePlan) -> String {
    plan.prelude
        .iter()
        .find_map(|step| match step {
            Step::Assign { value, .. } => Some(value.clone()),
            Step::InputHash { partial, .. } => Some(partial.clone()),
            _ => None,
        })
        .expect("the prelude settles the input hash")
}

#[test]
fn the_input_hash_does_not_depend_on_where_the_caches_and_the_work_folder_are() {
    let registry = Registry::global().unwrap();
    let here = fixed_settings();
    let mut elsewhere = fixed_settings();
    elsewhere.cache_dir = "/home/runner/.cache/buildah-gentoo".into();
    elsewhere.work_dir = "build/work".into();
    for image in registry.in_order() {
        let a = plan::plan(&[image], &fixed_inputs(registry, &here)).unwrap();
        let b = plan::plan(&[image], &fixed_inputs(registry, &elsewhere)).unwrap();
        assert_eq!(hash_of(&a.images[0]), hash_of(&b.images[0]), "{}", image.name());
    }
    // The control: what the image is made of does change it.
    let mut keyed = fixed_settings();
    keyed.binhosts = vec![xtask::settings::Binhost {
        name: "farm".into(),
        uri: "http://127.0.0.1:8080".into(),
        priority: 10,
        verify_signature: Some(false),
        keyed: None,
    }];
    let hello = registry.get("rig/hello").unwrap();
    let a = plan::plan(&[hello], &fixed_inputs(registry, &here)).unwrap();
    let b = plan::plan(&[hello], &fixed_inputs(registry, &keyed)).unwrap();
    assert_ne!(hash_of(&a.images[0]), hash_of(&b.images[0]), "a binhost's binrepos.conf is part of the image");
}

/// A command drafts its images while storage is listed: drafts made without storage and without the
/// repositories' identities, settled with them, plan exactly what planning with everything does,
/// including the input-hash tags an older build left to remove and the repository identities an
/// image repository takes from storage.
#[test]
fn drafts_made_before_storage_is_read_settle_into_the_same_plan() {
    let registry = Registry::global().unwrap();
    for repository in [None, Some("docker.io/gentoo/portage:latest")] {
        let mut settings = fixed_settings();
        if let Some(reference) = repository {
            settings.repository = xtask::settings::RepositorySource::Image(reference.into());
        }
        let mut inputs = fixed_inputs(registry, &settings);
        inputs.force = false;
        let images: Vec<_> = registry.in_order().collect();
        // Every image built once, `latest` still marked with an older input hash; the rig root and
        // the repository image in storage too.
        let mut stored = vec![
            serde_json::json!({ "id": format!("sha256:{}", "f".repeat(64)), "names": [inputs.rig_root] }),
            serde_json::json!({ "id": format!("sha256:{}", "e".repeat(64)), "names": ["docker.io/gentoo/portage:latest"] }),
        ];
        for (number, image) in images.iter().enumerate() {
            let repository = settings.repository_of(image.name());
            stored.push(serde_json::json!({
                "id": format!("sha256:{number:064x}"),
                "names": [format!("{repository}:latest"), format!("{repository}:inputs-{}", "0".repeat(32))],
            }));
        }
        inputs.storage = xtask::plan::ImageIndex::parse(&serde_json::Value::Array(stored).to_string()).unwrap();
        inputs.repositories.main = "image docker.io/gentoo/portage:latest sha256:eee".into();
        inputs.repositories.rig = "rig 0123".into();
        let mut before_storage = inputs.clone();
        before_storage.storage = Default::default();
        before_storage.repositories = Default::default();

        let whole = plan::plan(&images, &inputs).unwrap();
        let drafted = plan::plan_drafted(&images, plan::drafts(&images, &before_storage), &inputs).unwrap();
        assert_eq!(drafted, whole, "repository {repository:?}");
        let untagged =
            whole.images.iter().flat_map(|image| &image.steps).filter(|step| matches!(step, Step::UntagStale { .. }));
        assert_eq!(untagged.count(), images.len(), "every image's old input-hash tag is removed after its build");
    }
}
