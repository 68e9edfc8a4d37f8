//! Embeds the lab definitions, the grading material (`grading/` and each
//! lab's grading directory, wherever its lab.toml's `grading` puts it) and
//! each lab's starter (the tree its `starter` names and its
//! `starter_patch`) in the `xvlab` binary, so that an
//! installed xvlab (`cargo install --path .`) works from any directory.
//! Generates `$OUT_DIR/assets.rs`: a sorted table of (path, bytes).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to embed besides each lab's own material, relative to the crate
/// root. Directories are walked; build output and editor litter are
/// skipped.
const ROOTS: &[&str] = &["labs", "grading"];

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for r in ROOTS
        .iter()
        .map(|r| r.to_string())
        .chain(lab_material(&root))
    {
        // Watch each root itself, never a starter tree's target/: a
        // kernel build there would rebuild xvlab.
        println!("cargo:rerun-if-changed={r}");
        collect(&root, &root.join(&r), &mut files);
    }
    files.sort();
    // A lab's grading directory under grading/, or a starter two labs
    // share, is collected twice.
    files.dedup();

    let mut out =
        String::from("/// Embedded files: (path relative to the repository root, contents).\n");
    out.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let abs = root.join(rel);
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(dest, out).expect("write assets.rs");
}

/// The material the labs' lab.toml files name outside labs/ and
/// grading/: each lab's grading directory (`grading`), starter tree
/// (`starter`, as its entries but `target/`) and starter patch
/// (`starter_patch`). A lab.toml that does not parse, or names a path
/// outside the crate, is left to `Lab::load`, which refuses it with the
/// reason.
fn lab_material(root: &Path) -> Vec<String> {
    let Ok(labs) = std::fs::read_dir(root.join("labs")) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for lab in labs.flatten() {
        let Ok(text) = std::fs::read_to_string(lab.path().join("lab.toml")) else {
            continue;
        };
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        let named = |key: &str| {
            table
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|p| !p.starts_with('/') && !p.split('/').any(|part| part == ".."))
                .map(|p| p.trim_end_matches('/').to_string())
        };
        paths.extend(named("grading"));
        paths.extend(named("starter_patch"));
        if let Some(starter) = named("starter")
            && let Ok(entries) = std::fs::read_dir(root.join(&starter))
        {
            paths.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_name() != "target")
                    .filter_map(|e| Some(format!("{starter}/{}", e.file_name().to_str()?))),
            );
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

fn collect(root: &Path, path: &Path, files: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return; // optional files (e.g. a README not written yet)
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "target"
        || name.starts_with(".#")
        || name.ends_with('~')
        || name.ends_with(".img")
        || name == ".DS_Store"
    {
        return;
    }
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("read embedded directory")
            .map(|e| e.expect("read directory entry").path())
            .collect();
        entries.sort();
        for e in entries {
            collect(root, &e, files);
        }
    } else if meta.is_file() {
        let rel = path.strip_prefix(root).expect("path under the crate root");
        files.push(rel.to_str().expect("UTF-8 path").replace('\\', "/"));
    }
}
