//! The shape of the driver's code, checked: the top-level modules of `xtask/src` form no cycle (the
//! floors are model ← plan ← execute ← cli), and only `execute/` spawns buildah or skopeo.

use std::collections::{BTreeMap, BTreeSet};

use buildah_gentoo_tests::workspace_root;
use camino::{Utf8Path, Utf8PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Utf8Path) -> Vec<Utf8PathBuf> {
    let mut files = Vec::new();
    for entry in dir.read_dir_utf8().unwrap() {
        let path = entry.unwrap().path().to_owned();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension() == Some("rs") {
            files.push(path);
        }
    }
    files
}

/// Top-level module → the top-level modules its files name as `crate::<module>`.
fn module_graph(src: &Utf8Path) -> BTreeMap<String, BTreeSet<String>> {
    let reference = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative.components().next().unwrap().as_str().trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("use crate::{"), "{file}: name each module (`use crate::x::...`), for this check");
        let uses = graph.entry(module.clone()).or_default();
        for found in reference.captures_iter(&text) {
            if found[1] != module {
                uses.insert(found[1].to_owned());
            }
        }
    }
    graph
}

/// A cycle of the graph, if there is one (as the path that closes it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_driver_modules_form_no_cycle_and_keep_their_floors() {
    let graph = module_graph(&workspace_root().join("xtask/src"));
    assert!(graph.len() >= 10, "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}\n{graph:#?}", cycle.join(" -> "));
    }
    // The floors: the planner never reaches up into the executor or the CLI, the executor never
    // into the CLI; the pipeline generators (graph in, YAML out) stand beside the planner.
    for (lower, upper) in [
        ("plan", "execute"),
        ("plan", "cli"),
        ("execute", "cli"),
        ("plan", "bench"),
        ("pipeline", "execute"),
        ("pipeline", "cli"),
    ] {
        assert!(!graph[lower].contains(upper), "`{lower}` uses `{upper}`: {graph:#?}");
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into_iter()
    .collect();
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}

#[test]
fn only_the_executor_spawns_buildah_or_skopeo() {
    let src = workspace_root().join("xtask/src");
    let spawn = regex::Regex::new(r#"(Command::new\(\s*"(buildah|skopeo)"|cmd!\([^,]+,\s*"(buildah|skopeo))"#).unwrap();
    let mut found_in_execute = 0;
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        let spawns = spawn.find_iter(&text).count();
        if file.strip_prefix(&src).unwrap().starts_with("execute") {
            found_in_execute += spawns;
        } else {
            assert_eq!(spawns, 0, "{file} spawns buildah or skopeo: only xtask/src/execute/ may");
        }
    }
    assert!(found_in_execute > 0, "the pattern finds the executor's own spawns");
}
