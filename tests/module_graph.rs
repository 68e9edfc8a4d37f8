//! The layout lib.rs describes holds: no two parts of `src/` import each
//! other, directly or through others. A part is a top-level module (a
//! pipeline folder such as `src/submission/`, or a file such as
//! `src/check.rs`); inside a folder, the same holds for its files and
//! folders (its `mod.rs`, which declares them, is not one of them). An import is any path through
//! `crate::` or `super::` in the code that is built into xvlab (`use`
//! lines, paths in expressions and types, and macro arguments); test code
//! (`#[cfg(test)]`) is left out, as lib.rs allows tests to borrow another
//! part's fixtures.
//!
//! A cycle is reported as the modules it goes through, with a file and
//! line where each import is made, so that it can be undone where it was
//! made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module's path below the crate root (`["grade", "mutants", "run"]`).
type ModPath = Vec<String>;

/// Where an import is made: file and line.
type Site = String;

/// Imports between modules: from -> to -> the first place it is made.
type Graph = BTreeMap<String, BTreeMap<String, Site>>;

/// Collects the module paths a file's built code refers to.
struct Imports<'a> {
    /// The module being visited (the file's, then inline modules').
    module: ModPath,
    /// Every module of the crate that has a file of its own.
    modules: &'a BTreeSet<ModPath>,
    file: &'a str,
    /// The module each import reaches, with its site.
    found: Vec<(ModPath, Site)>,
}

impl Imports<'_> {
    /// Records the path `segments` (as written) used at `line`.
    fn record(&mut self, segments: &[String], line: usize) {
        if let Some(target) = resolve(&self.module, segments, self.modules) {
            self.found.push((target, format!("{}:{line}", self.file)));
        }
    }

    /// Records the `crate::` and `super::` paths inside a macro's tokens,
    /// which syn leaves unparsed.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => self.scan_tokens(group.stream()),
                TokenTree::Ident(ident) if ident == "crate" || ident == "super" => {
                    // `$crate` is the macro's own crate, written as `$` then
                    // `crate`: a path of the caller's choosing, not an import.
                    let dollar = i > 0
                        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                    if dollar {
                        continue;
                    }
                    let segments = path_in_tokens(&tokens[i..]);
                    self.record(&segments, ident.span().start().line);
                }
                _ => {}
            }
        }
    }
}

/// The segments of the path that starts at `tokens[0]`: identifiers
/// separated by `::` (each `::` is two `:` tokens).
fn path_in_tokens(tokens: &[TokenTree]) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = tokens;
    while let Some(TokenTree::Ident(ident)) = rest.first() {
        segments.push(ident.to_string());
        match rest {
            [_, TokenTree::Punct(a), TokenTree::Punct(b), tail @ ..]
                if a.as_char() == ':' && b.as_char() == ':' =>
            {
                rest = tail;
            }
            _ => break,
        }
    }
    segments
}

/// The module a path written in `module` reaches, as far as its leading
/// `crate`, `super` and `self` segments and the module names after them
/// say (a path may also start with the name of one of `module`'s own
/// submodules, one of `modules`); `None` for paths that start elsewhere
/// (other crates, the prelude, local names).
fn resolve(module: &[String], segments: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = segments.first()?;
    let mut child = module.to_vec();
    child.push(first.clone());
    let (mut target, mut rest): (ModPath, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &segments[1..]),
        "super" | "self" => (module.to_vec(), &segments[1..]),
        _ if modules.contains(&child) => (module.to_vec(), segments),
        _ => return None,
    };
    if segments[0] == "super" {
        target.pop();
    }
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                target.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    // The path goes on into an item (or `self`) where its module names end.
    for segment in rest {
        target.push(segment.clone());
        if !modules.contains(&target) {
            target.pop();
            break;
        }
    }
    Some(target)
}

/// Whether `attrs` include `#[cfg(test)]` (test-only code).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// The segments of a `use` tree, one list per name it imports.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push(path);
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push(path);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for item in &g.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &Vec::new(),
        };
        if is_test_only(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // An inline module (`mod x { ... }`) is a module of its own for the
        // `super` paths inside it; a `mod x;` is read from its own file.
        if item.content.is_some() {
            self.module.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut paths);
        let line = item.use_token.span.start().line;
        for path in paths {
            self.record(&path, line);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = path.segments.first() {
            self.record(&segments, first.ident.span().start().line);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.scan_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

/// The module of a source file below `src/` (`grade/mod.rs` is `grade`,
/// `grade/mutants/run.rs` is `grade::mutants::run`).
fn module_of(relative: &Path) -> ModPath {
    let mut parts: ModPath = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.strip_suffix(".rs").unwrap_or(&last);
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The imports of the library's sources under `src`: each file's module
/// and the modules it reaches.
fn imports(src: &Path) -> Vec<(ModPath, ModPath, Site)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // The binary is a crate of its own, which imports the library by name.
    files.retain(|path| path != &src.join("main.rs"));
    let modules: BTreeSet<ModPath> = files
        .iter()
        .map(|path| module_of(path.strip_prefix(src).unwrap()))
        .collect();
    let mut all = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let file =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", relative.display()));
        let name = format!("src/{}", relative.display());
        let mut visitor = Imports {
            module: module_of(relative),
            modules: &modules,
            file: &name,
            found: Vec::new(),
        };
        visitor.visit_file(&file);
        for (target, site) in visitor.found {
            all.push((visitor.module.clone(), target, site));
        }
    }
    all
}

/// The graph of imports between the modules `depth` levels down that
/// share the first `depth - 1` levels (depth 1: the top-level modules;
/// depth 2: the modules of one folder). A parent (the crate root, a
/// folder's `mod.rs`) is not a node: it declares its modules and uses
/// them, and they use what it defines for all of them.
fn graph(imports: &[(ModPath, ModPath, Site)], depth: usize) -> Graph {
    let node = |module: &ModPath| -> Option<(ModPath, String)> {
        (module.len() >= depth).then(|| (module[..depth - 1].to_vec(), module[..depth].join("::")))
    };
    let mut graph = Graph::new();
    for (from, to, site) in imports {
        let (Some((from_parent, from)), Some((to_parent, to))) = (node(from), node(to)) else {
            continue;
        };
        if from_parent == to_parent && from != to {
            graph
                .entry(from)
                .or_default()
                .entry(to)
                .or_insert_with(|| site.clone());
        }
    }
    graph
}

/// A cycle of `graph`, as its edges with their sites, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<(String, String, Site)>> {
    /// Depth-first search; `path` holds the modules on the current branch.
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(graph, node, &mut Vec::new(), &mut done) {
            return Some(
                cycle
                    .windows(2)
                    .map(|w| (w[0].clone(), w[1].clone(), graph[&w[0]][&w[1]].clone()))
                    .collect(),
            );
        }
    }
    None
}

/// The cycle as a user reads it: one import a line, with its site.
fn describe(cycle: &[(String, String, Site)]) -> String {
    cycle
        .iter()
        .map(|(from, to, site)| format!("  {from} imports {to} ({site})"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn library_imports() -> Vec<(ModPath, ModPath, Site)> {
    imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let imports = library_imports();
    let graph = graph(&imports, 1);
    // The graph is the real one: the pipeline's later stages import the
    // earlier ones.
    assert!(graph["grade"].contains_key("build"), "{graph:?}");
    assert!(graph["cli"].contains_key("grade"), "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the top-level modules of src/ import each other:\n{}",
            describe(&cycle)
        );
    }
}

#[test]
fn no_two_modules_of_one_folder_import_each_other() {
    let imports = library_imports();
    assert!(
        graph(&imports, 2)["submission::student"].contains_key("submission::worktree"),
        "{:?}",
        graph(&imports, 2)
    );
    // Folders in folders (grade/mutants/) too.
    let deepest = imports.iter().map(|(from, _, _)| from.len()).max().unwrap();
    for depth in 2..=deepest {
        if let Some(cycle) = find_cycle(&graph(&imports, depth)) {
            panic!(
                "modules of one folder of src/ import each other:\n{}",
                describe(&cycle)
            );
        }
    }
}

/// The check finds what it is for, in a crate made for it: two top-level
/// modules that import each other, one through `use crate::`, the other
/// through a path in a macro's arguments; two modules of one folder, one
/// through `super::super::` from an inline module, the other first from
/// test code only (left out), then from a path in a parent's child.
#[test]
fn a_cycle_is_found_and_named_with_its_sites() {
    let src = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = src.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod student;\npub mod submission;\n");
    write(
        "submission/mod.rs",
        "pub mod patch;\npub mod walk;\nuse crate::student::Copy;\npub fn f(_: Copy) {}\n",
    );
    write(
        "submission/walk.rs",
        "pub const N: u8 = 1;\nmod inner {\n    use super::super::patch::P;\n}\n",
    );
    write(
        "submission/patch.rs",
        "pub struct P;\n#[cfg(test)]\nmod tests {\n    use crate::submission::walk::N;\n}\n",
    );
    write(
        "student.rs",
        "pub struct Copy;\nfn g() {\n    println!(\"{}\", crate::submission::walk::N);\n}\n",
    );
    let top = graph(&imports(src.path()), 1);
    let cycle = find_cycle(&top).expect("a cycle");
    assert_eq!(
        describe(&cycle),
        "  student imports submission (src/student.rs:3)\n  \
         submission imports student (src/submission/mod.rs:3)"
    );
    let folder = graph(&imports(src.path()), 2);
    assert_eq!(find_cycle(&folder), None, "{folder:?}");
    assert_eq!(
        folder["submission::walk"].keys().collect::<Vec<_>>(),
        ["submission::patch"]
    );

    write(
        "submission/patch.rs",
        "pub struct P;\nfn n() -> u8 {\n    super::walk::N\n}\n",
    );
    let folder = graph(&imports(src.path()), 2);
    let cycle = find_cycle(&folder).expect("a cycle within the folder");
    assert_eq!(
        describe(&cycle),
        "  submission::patch imports submission::walk (src/submission/patch.rs:3)\n  \
         submission::walk imports submission::patch (src/submission/walk.rs:3)"
    );
}
