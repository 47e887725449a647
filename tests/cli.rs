//! The `atom` and `graph` commands' output formats.

use image_defs::Registry;
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
