//! The shape of `src/` (issue 12): every `crate::` edge points down the layers
//! of `lib.rs`, no module imports in a circle, `core/` does no I/O, and no
//! function outside the tests runs past 80 lines. Each failure names the file,
//! the line and the edge or function.
//! See: ../shared/design.md

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, as `lib.rs` lists them.
const LAYERS: &[&[&str]] = &[
    &["core"],
    &["config", "logging", "ops", "shutdown"],
    &["db"],
    &["data"],
    &["publishing"],
    &["telegram"],
    &["service"],
    &["cli"],
];

/// What the functional core never touches.
const IO_IN_CORE: &[&str] = &[
    "tokio",
    "teloxide",
    "sqlx",
    "std::fs",
    "std::net",
    "std::thread",
];

const MAX_FUNCTION_LINES: usize = 80;

/// A source file's lines outside comments and `#[cfg(test)]` items, numbered.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line == "#[cfg(test)]" {
            i = end_of_item(&lines, i + 1) + 1;
            continue;
        }
        if !line.starts_with("//") {
            let code = lines[i].split(" //").next().unwrap_or_default();
            out.push((i + 1, code.to_owned()));
        }
        i += 1;
    }
    out
}

/// The index of the line that closes the item starting at `start` (braces counted).
fn end_of_item(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i32;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let code = line.split("//").next().unwrap_or_default();
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        opened |= code.contains('{');
        if (opened && depth <= 0) || (!opened && code.trim_end().ends_with(';')) {
            return i;
        }
    }
    lines.len()
}

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_none_or(|n| n != "tests.rs")
            {
                // `tests.rs` files are `#[cfg(test)] mod tests;`: test code.
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &mut out);
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/core/search/mod.rs` → `["core", "search"]`.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The node a module counts as for cycles: `core::<x>` inside the core (its
/// modules are the ones worth keeping apart), the top-level module elsewhere.
fn node(path: &[String]) -> String {
    match path {
        [core, sub, ..] if core == "core" => format!("core::{sub}"),
        [top, ..] => top.clone(),
        [] => String::new(),
    }
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

/// Every `crate::a::b…` path a line uses (macros exported at the root count as
/// their module's: `crate::chat_kind!` is `publishing`'s).
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    line.match_indices("crate::")
        .filter(|(i, _)| !line[..*i].ends_with('$'))
        .map(|(i, _)| {
            let rest = &line[i + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let parts: Vec<String> = path
                .split("::")
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            match parts.first().map(String::as_str) {
                Some("chat_kind") => vec!["publishing".to_owned()],
                _ => parts,
            }
        })
        .collect()
}

struct Edge {
    from: String,
    to: String,
    at: String,
}

fn edges() -> Vec<Edge> {
    let mut edges = Vec::new();
    for path in sources() {
        let module = module_of(&path);
        if matches!(
            module.first().map(String::as_str),
            Some("lib" | "main") | None
        ) {
            continue;
        }
        for (n, line) in code_lines(&path) {
            for target in crate_paths(&line) {
                let (from, to) = (node(&module), node(&target));
                if !to.is_empty() && from != to {
                    let at = format!("{}:{n}", path.strip_prefix(src()).unwrap().display());
                    edges.push(Edge { from, to, at });
                }
            }
        }
    }
    edges
}

#[test]
fn every_import_points_down_the_layers() {
    let mut wrong = Vec::new();
    for e in edges() {
        let top = |n: &str| n.split("::").next().unwrap_or_default().to_owned();
        match (layer(&top(&e.from)), layer(&top(&e.to))) {
            (Some(from), Some(to)) if to > from => {
                wrong.push(format!("{}: {} → {} points up", e.at, e.from, e.to))
            }
            (None, _) => wrong.push(format!("{}: `{}` is in no layer of lib.rs", e.at, e.from)),
            (_, None) => wrong.push(format!("{}: `{}` is in no layer of lib.rs", e.at, e.to)),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// A cycle of the graph, as the nodes it passes through, if there is one
/// (depth-first search: a back edge closes it).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &Graph,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if !done.insert(n.to_owned()) {
            return None;
        }
        stack.push(n.to_owned());
        for next in graph.get(n).into_iter().flat_map(|m| m.keys()) {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_in_a_circle() {
    let mut graph = Graph::new();
    for e in edges() {
        graph.entry(e.from).or_default().entry(e.to).or_insert(e.at);
    }
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!("an import cycle:\n{}", steps.join("\n"));
    }
}

#[test]
fn the_core_does_no_io() {
    let mut found = Vec::new();
    for path in sources()
        .into_iter()
        .filter(|p| module_of(p).first().is_some_and(|m| m == "core"))
    {
        for (n, line) in code_lines(&path) {
            for io in IO_IN_CORE {
                let used = line.match_indices(io).any(|(i, _)| {
                    let before = line[..i].chars().next_back();
                    let after = line[i + io.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if used {
                    let file = path.strip_prefix(src()).unwrap().display().to_string();
                    found.push(format!("{file}:{n}: `{io}` in the core: {}", line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Counted from `fn` to its closing brace, comments and blank lines included;
/// clippy's `too_many_lines` counts only code lines, so it is not enough alone.
#[test]
fn no_function_runs_past_eighty_lines() {
    let mut long = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let tested: BTreeSet<usize> = code_lines(&path).iter().map(|(n, _)| n - 1).collect();
        for (i, line) in lines.iter().enumerate() {
            let is_fn = {
                let t = line.trim_start();
                let t = t
                    .strip_prefix("pub ")
                    .or_else(|| t.strip_prefix("pub(crate) "))
                    .unwrap_or(t);
                let t = t.strip_prefix("async ").unwrap_or(t);
                t.starts_with("fn ") && !line.trim_end().ends_with(';')
            };
            if is_fn && tested.contains(&i) {
                let length = end_of_item(&lines, i) - i + 1;
                if length > MAX_FUNCTION_LINES {
                    let file = path.strip_prefix(src()).unwrap().display();
                    let name = line.trim().split('(').next().unwrap_or_default();
                    long.push(format!("{file}:{}: `{name}` has {length} lines", i + 1));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "longer than {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The checks above can fail: their parsers read what they must, and a cycle
/// like the one this issue removed (admin → bot → admin) is found.
#[test]
fn the_checks_can_fail() {
    let mut graph = Graph::new();
    for (from, to) in [
        ("telegram::admin", "telegram"),
        ("telegram", "cli"),
        ("cli", "telegram::admin"),
    ] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), "x.rs:1".into());
    }
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4));
    graph.remove("cli");
    assert_eq!(find_cycle(&graph), None);
    assert_eq!(
        crate_paths("use crate::core::search::{Catalog, Hit};"),
        vec![vec!["core".to_owned(), "search".to_owned()]]
    );
    assert_eq!(node(&["telegram".into(), "admin".into()]), "telegram");
    assert!(layer("cli") > layer("core"));
    let lines = ["fn f() {", "    if x {", "    }", "}", "fn g();"];
    assert_eq!(end_of_item(&lines, 0), 3);
}

/// The module graph, for a reader: `cargo test --test it print_the_module_graph -- --ignored --nocapture`.
#[test]
#[ignore = "prints the graph; the checks above test it"]
fn print_the_module_graph() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in edges() {
        graph.entry(e.from).or_default().insert(e.to);
    }
    for (from, to) in &graph {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        println!("{from:<18} → {}", to.join(", "));
    }
}
