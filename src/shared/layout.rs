//! Where a kernel tree keeps its user programs, the one rule every stage
//! reads them by: cargo's binaries of the user crate, a program `NAME`
//! being `user/src/bin/NAME.rs` or, for one of several files,
//! `user/src/bin/NAME/main.rs`.

/// Where user programs' sources live in a kernel tree.
pub const BIN_DIR: &str = "user/src/bin";

/// The program whose main source is `rel`, a `/`-separated path below
/// [`BIN_DIR`]: `NAME.rs` or `NAME/main.rs`; `None` for any other file
/// (a module of a program, a file that is not Rust).
pub fn program_of(rel: &str) -> Option<&str> {
    match rel.split_once('/') {
        Some((dir, "main.rs")) => Some(dir),
        Some(_) => None,
        None => rel.strip_suffix(".rs"),
    }
    .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_a_file_or_a_folder_with_a_main() {
        assert_eq!(program_of("echo.rs"), Some("echo"));
        assert_eq!(program_of("usertests/main.rs"), Some("usertests"));
        assert_eq!(program_of("usertests/memory.rs"), None);
        assert_eq!(program_of("notes.txt"), None);
        assert_eq!(program_of("a/b/main.rs"), None);
        assert_eq!(program_of(".rs"), None);
    }
}
