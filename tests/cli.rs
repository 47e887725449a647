//! The `atom` and `graph` commands' output formats.

use image_defs::{Layout, Parent, Registry, Root, Spec};
use serde_json::{json, Value};
use xtask::cli::{atom, graph};

fn explain(input: &str) -> Value {
    serde_json::to_value(atom::explain(input)).unwrap()
}

#[test]
fn atom_explains_every_part() {
    assert_eq!(
        explain("!!>=dev-libs/openssl-3.0.13_p1-r2:0/3=::gentoo[asm,-static-libs,test?,!bindist=,tls-heartbeat(-)]"),
        json!({
            "input": "!!>=dev-libs/openssl-3.0.13_p1-r2:0/3=::gentoo[asm,-static-libs,test?,!bindist=,tls-heartbeat(-)]",
            "ok": true,
            "blocker": "!!",
            "operator": ">=",
            "category": "dev-libs",
            "package": "openssl",
            "version": "3.0.13_p1-r2",
            "slot": "0",
            "subslot": "3",
            "slot_operator": "=",
            "repo": "gentoo",
            "use": ["asm", "-static-libs", "test?", "!bindist=", "tls-heartbeat(-)"],
        })
    );
}

#[test]
fn atom_reports_glob_and_absent_parts_as_null() {
    let value = explain("=dev-lang/go-1.25*");
    assert_eq!(value["operator"], "=*");
    assert_eq!(value["version"], "1.25");
    for absent in ["blocker", "slot", "subslot", "slot_operator", "repo"] {
        assert_eq!(value[absent], Value::Null, "{absent}");
    }
    assert_eq!(value["use"], json!([]));
    assert_eq!(explain("dev-lang/go:*")["slot_operator"], "*");
}

#[test]
fn atom_errors_say_where_and_what() {
    let value = explain(">=dev-libs/foo");
    assert_eq!(value["ok"], false);
    assert_eq!(value["input"], ">=dev-libs/foo");
    let error = value["error"].as_str().unwrap();
    assert!(error.starts_with("at byte "), "{error}");
    assert!(error.contains("expected"), "{error}");
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
}

#[test]
fn graphs_of_the_example_images() {
    let registry = Registry::global().unwrap();
    insta::assert_snapshot!("graph.dot", graph::dot(registry));
    insta::assert_snapshot!("graph.mermaid", graph::mermaid(registry));
}

image_defs::image! {
    /// A minimal image on the rig root built in a registry root: a root only a builder names.
    BuiltInStage3 = Spec {
        name: "built-in-stage3",
        parent: Parent::Root(Root::Rig),
        layout: Layout::Minimal,
        builder: Some(Parent::registry("docker.io/gentoo/stage3:latest")),
        ..Spec::DEFAULT
    };
}

#[test]
fn a_root_only_a_builder_names_is_drawn_with_a_dashed_edge() {
    let registry = Registry::new(vec![&BuiltInStage3]).unwrap();
    let dot = graph::dot(&registry);
    assert!(dot.contains("root1 [shape=ellipse, label=\"docker.io/gentoo/stage3:latest\"];"), "{dot}");
    assert!(dot.contains("root0 -> \"built-in-stage3\";"), "{dot}");
    assert!(dot.contains("root1 -> \"built-in-stage3\" [style=dashed, label=\"builder\"];"), "{dot}");
    let mermaid = graph::mermaid(&registry);
    assert!(mermaid.contains("root1 -. builder .-> img_built_in_stage3"), "{mermaid}");
}

/// `cargo xtask bench --only scale --quick`: the in-process planning figure, a few seconds. The
/// figures themselves are not checked against their targets here (machines are noisy), only that
/// they are measured and reported: three rounds each, a growth that is the ratio of the medians.
#[test]
fn bench_quick_measures_planning_at_scale() {
    use clap::Parser;
    use xtask::bench::{self, Figure, Rounds};
    use xtask::cli::{Cli, Commands};

    let cli = Cli::try_parse_from(["cargo xtask", "bench", "--only", "scale", "--quick"]).unwrap();
    let Commands::Bench(args) = cli.command else { panic!("not the bench command: {cli:?}") };
    assert_eq!(args.only, [Figure::Scale]);
    let rounds = Rounds::new(args.runs.map(usize::from), args.quick);
    let workspace = xtask::workspace::root().unwrap();
    let rows = bench::run(&workspace, &args.only, &rounds).unwrap();
    let figures: Vec<&str> = rows.iter().map(|row| row.figure.as_str()).collect();
    assert_eq!(
        figures,
        ["5 plan 1,000 synthetic images", "5 plan 10,000 synthetic images", "5 growth for 10x the images"]
    );
    assert!(rows.iter().all(|row| row.samples.runs() == 3), "{rows:?}");
    let (small, large, growth) = (&rows[0], &rows[1], &rows[2]);
    // No wall-clock comparison (machines are noisy): what was timed is checked by counting instead.
    let chain = xtask::bench::synthetic::chain_and_fan(1_000, xtask::bench::synthetic::FAN);
    assert_eq!(xtask::bench::synthetic::register_and_plan(&chain).unwrap(), 1_000);
    let expected = large.samples.median().as_secs_f64() / small.samples.median().as_secs_f64();
    assert!((growth.ratio.unwrap() - expected).abs() < 1e-9, "{rows:?}");
    let table = bench::table::render(&rows);
    assert!(table.contains("<= 11x") && table.contains("<= 1.00 s"), "{table}");
}
