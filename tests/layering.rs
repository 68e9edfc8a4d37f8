//! The pipeline folders of `src/` (submission → build → run → check →
//! report → grade → cli, with `lab` and `shared` beneath them) import one
//! another without a cycle: a folder that needs one above it is a sign that
//! code lives on the wrong side (as the student copy's tree walker once
//! did, importing `submission` while `submission` imported it back).
//!
//! The edges are read from the source text: every `crate::NAME` path in
//! code that is built into xvlab (comments and `#[cfg(test)]` items left
//! out: tests may use whatever helps them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the other top-level modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn src_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    // Seen, so that a parser gone blind does not pass by finding nothing.
    for (module, needs) in [("cli", "grade"), ("grade", "report"), ("build", "lab")] {
        assert!(
            graph[module].contains(needs),
            "`{module}` should import `{needs}`: {graph:#?}"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "src/ modules import each other in a cycle: {}\n(the graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn a_cycle_between_two_modules_is_found() {
    let graph = graph_from(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
    let cycle = find_cycle(&graph).expect("a cycle");
    assert_eq!(cycle.first(), cycle.last(), "{cycle:?}");
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    let acyclic = graph_from(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])]);
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn paths_in_braces_comments_and_test_modules_are_read_as_they_should_be() {
    let code = "use crate::{lab::Lab, run::{plan::Plan, qemu}};\n\
                // crate::cli is only named in a comment\n\
                fn f() -> crate::shared::exit::Code { todo() }\n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::grade::Pool;\n    fn g() { { crate::cli::x(); } }\n}\n\
                fn h() { crate::check::evaluate(); }\n";
    let named = crate_paths(code);
    let expected: BTreeSet<String> = ["lab", "run", "shared", "check"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(named, expected);
}

fn graph_from(edges: &[(&str, &[&str])]) -> Graph {
    edges
        .iter()
        .map(|(m, to)| (m.to_string(), to.iter().map(|t| t.to_string()).collect()))
        .collect()
}

/// The graph of `src/`'s top-level modules (those `lib.rs` declares).
fn graph_of(src: &Path) -> Graph {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: Vec<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_string)
        .collect();
    assert!(modules.len() >= 5, "lib.rs declares {modules:?}");
    let mut graph = Graph::new();
    for module in &modules {
        let dir = src.join(module);
        let files = if dir.is_dir() {
            rust_files(&dir)
        } else {
            vec![src.join(format!("{module}.rs"))]
        };
        let mut named = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            named.extend(crate_paths(&text));
        }
        named.remove(module);
        named.retain(|m| modules.contains(m));
        graph.insert(module.clone(), named);
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The first path segment after each `crate::` in `code`'s built code.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let code = without_tests(&without_comments(code));
    let mut named = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c::{d, e}}`: the names at the group's top level.
            let mut depth = 0;
            let mut start_of_item = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => start_of_item = true,
                    c if start_of_item && (c.is_ascii_alphabetic() || c == '_') => {
                        named.insert(ident_at(&group[i..]));
                        start_of_item = false;
                    }
                    _ => {}
                }
            }
        } else {
            named.insert(ident_at(rest));
        }
    }
    named
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// `code` without `//` comments (doc comments included: their links are
/// not imports).
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|l| l.find("//").map_or(l, |at| &l[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `code` without the items that follow `#[cfg(test)]` (to the `;` or the
/// `}` matching their first `{`).
fn without_tests(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        let mut depth = 0;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// A cycle in `graph` as the modules along it, first and last the same;
/// `None` if it has none.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::OnPath);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::OnPath => {
                    let from = path.iter().position(|n| n == next).unwrap();
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, graph, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New {
            let mut path = Vec::new();
            if let Some(cycle) = visit(node, graph, &mut marks, &mut path) {
                return Some(cycle);
            }
        }
    }
    None
}
