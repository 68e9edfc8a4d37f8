//! What a lab is, as course staff write it: its `lab.toml` (this module),
//! where its material is found ([`assets`]: `labs/`, `grading/` and the
//! starter tree, embedded or from `XVLAB_HOME`), its rubric ([`rubric`]:
//! `grading/<lab>/rubric.toml`), and the reference durations its VMs'
//! deadlines scale from ([`deadline`]: `grading/<lab>/durations.toml`).
//! The stages read these; nothing here reads a stage.
//!
//! Lab definitions: `labs/<lab>/lab.toml` says what a lab is called,
//! which paths of the kernel tree a submission may change and, optionally,
//! how long a build may take (`build_timeout`) and, optionally, which
//! test programs go on the image (`test_programs`) ([`Lab`]).
//!
//! Everything outside `editable` belongs to the grader: it is restored from
//! the pristine tree before a submission is built, and a patch that touches
//! it is refused.

pub mod assets;
pub mod deadline;
pub mod rubric;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::lab::assets::{AssetError, Assets};
use crate::shared::exit;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "find lab `{name}`: there is no labs/{name}/lab.toml in {source_name} (known labs: {known})"
    )]
    Unknown {
        name: String,
        source_name: String,
        known: String,
    },
    #[error("load lab `{name}`")]
    Asset {
        name: String,
        #[source]
        source: AssetError,
    },
    #[error("parse labs/{name}/lab.toml: {message}")]
    Parse { name: String, message: String },
    #[error("parse labs/{name}/lab.toml: editable pattern `{pattern}`: {message}")]
    Pattern {
        name: String,
        pattern: String,
        message: String,
    },
    #[error(
        "load lab `{name}`: its starter tree `{starter}` (lab.toml's `starter`) is not in {source_name}"
    )]
    NoStarter {
        name: String,
        starter: String,
        source_name: String,
    },
    #[error(
        "load lab `{name}`: lab.toml's `test_programs` names `{program}`, which is not a program of its starter tree `{starter}` (its programs: {known})"
    )]
    UnknownTestProgram {
        name: String,
        program: String,
        starter: String,
        known: String,
    },
}

impl LabError {
    /// The exit code of `xvlab` for this error (see exit.rs): the lab is
    /// the grader's to fix.
    pub fn exit_code(&self) -> u8 {
        exit::BAD_LAB
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabFile {
    name: String,
    title: String,
    starter: String,
    editable: Vec<String>,
    #[serde(default, with = "humantime_serde")]
    build_timeout: Option<std::time::Duration>,
    #[serde(default)]
    test_programs: Option<Vec<String>>,
}

/// A lab.
#[derive(Clone, Debug)]
pub struct Lab {
    /// Short name (`lazy`), also the directory name under labs/ and
    /// grading/.
    pub name: String,
    /// Human title.
    pub title: String,
    /// The starter tree, a directory of the grading material (`starter`,
    /// e.g. `reference-kernel`): what a student copy starts from, what
    /// patches apply to, and where the grader's files are restored from.
    pub starter: String,
    /// The editable patterns, as written.
    pub editable_patterns: Vec<String>,
    /// How long a build of a submission may take (`build_timeout`, e.g.
    /// `"5m"`); `None`: the default of [`crate::build::kbuild::BUILD_TIMEOUT`].
    pub build_timeout: Option<std::time::Duration>,
    /// The test programs that go on the image (`test_programs`): the
    /// starter's other test programs (those of other labs) stay off it.
    /// `None`: every program of the starter.
    pub test_programs: Option<Vec<String>>,
    editable: GlobSet,
}

impl Lab {
    /// Load `labs/<name>/lab.toml` from `assets`.
    pub fn load(assets: &Assets, name: &str) -> Result<Lab, LabError> {
        let path = format!("labs/{name}/lab.toml");
        let text = match assets.read_string(&path) {
            Ok(text) => text,
            Err(AssetError::NotFound { .. }) => {
                return Err(LabError::Unknown {
                    name: name.to_string(),
                    source_name: assets.describe(),
                    known: list(assets).join(", "),
                });
            }
            Err(source) => {
                return Err(LabError::Asset {
                    name: name.to_string(),
                    source,
                });
            }
        };
        let lab = Lab::parse(name, &text)?;
        // A starter that names no files would grade every submission
        // against nothing.
        let files = assets
            .list(&lab.starter)
            .map_err(|source| LabError::Asset {
                name: name.to_string(),
                source,
            })?;
        if files.is_empty() {
            return Err(LabError::NoStarter {
                name: name.to_string(),
                starter: lab.starter,
                source_name: assets.describe(),
            });
        }
        // A misspelt test program would leave the image without it, and
        // every test of its sessions would fail as if the kernel could not
        // run it: say so now, as the lab's error.
        if let Some(tests) = &lab.test_programs {
            let known = programs_of(&lab.starter, &files);
            if let Some(program) = tests.iter().find(|t| !known.contains(*t)) {
                return Err(LabError::UnknownTestProgram {
                    name: name.to_string(),
                    program: program.clone(),
                    starter: lab.starter.clone(),
                    known: known.into_iter().collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(lab)
    }

    /// Parse a lab.toml for the lab named `name`.
    pub fn parse(name: &str, text: &str) -> Result<Lab, LabError> {
        let file: LabFile = toml::from_str(text).map_err(|e| LabError::Parse {
            name: name.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        if file.name != name {
            return Err(LabError::Parse {
                name: name.to_string(),
                message: format!(
                    "`name` is `{}` but the lab directory is `{name}`",
                    file.name
                ),
            });
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in &file.editable {
            // `*` stays within one path component; only `**` crosses `/`.
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| LabError::Pattern {
                    name: name.to_string(),
                    pattern: pattern.clone(),
                    message: e.kind().to_string(),
                })?;
            builder.add(glob);
        }
        let editable = builder.build().map_err(|e| LabError::Pattern {
            name: name.to_string(),
            pattern: file.editable.join(", "),
            message: e.to_string(),
        })?;
        let starter = file.starter.trim_end_matches('/').to_string();
        if starter.is_empty()
            || starter.starts_with('/')
            || starter
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(LabError::Parse {
                name: name.to_string(),
                message: format!(
                    "`starter` is `{}`: name a directory of the grading material, \
                     relative and without `.` or `..` (for example `reference-kernel`)",
                    file.starter
                ),
            });
        }
        Ok(Lab {
            name: file.name,
            title: file.title,
            starter,
            editable_patterns: file.editable,
            build_timeout: file.build_timeout,
            test_programs: file.test_programs,
            editable,
        })
    }

    /// May a submission change `path` (relative to the kernel tree,
    /// `/`-separated, already checked to be a plain relative path)?
    pub fn is_editable(&self, path: &str) -> bool {
        self.editable.is_match(path)
    }

    /// The rubric's path within the assets.
    pub fn rubric_path(&self) -> String {
        format!("grading/{}/rubric.toml", self.name)
    }

    /// The reference solution's path within the assets (what the
    /// self-test, mutation analysis and the HTML report's diffs grade).
    pub fn solution_path(&self) -> String {
        format!("grading/{}/solution.patch", self.name)
    }

    /// The student handout's path within the assets.
    pub fn handout_path(&self) -> String {
        format!("labs/{}/README.md", self.name)
    }
}

/// The user programs of the starter tree `starter`, from the paths of its
/// `files`: `user/src/bin/NAME.rs`, or `user/src/bin/NAME/main.rs` for a
/// program of several files.
fn programs_of(starter: &str, files: &[String]) -> std::collections::BTreeSet<String> {
    let bin = format!("{starter}/user/src/bin/");
    files
        .iter()
        .filter_map(|f| f.strip_prefix(&bin))
        .filter_map(|rest| match rest.split_once('/') {
            Some((dir, "main.rs")) => Some(dir.to_string()),
            Some(_) => None,
            None => rest.strip_suffix(".rs").map(str::to_string),
        })
        .collect()
}

/// The names of the labs in `assets`, sorted.
pub fn list(assets: &Assets) -> Vec<String> {
    let mut names: Vec<String> = assets
        .list("labs")
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            p.strip_prefix("labs/")?
                .strip_suffix("/lab.toml")
                .map(str::to_string)
        })
        .filter(|n| !n.contains('/'))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_lab_lets_students_change_kernel_sources_only() {
        let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
        assert_eq!(lab.title, "Lazy page allocation");
        assert!(lab.is_editable("kernel/src/vm.rs"));
        assert!(lab.is_editable("kernel/src/lazy/mod.rs"));
        assert!(!lab.is_editable("kernel/Cargo.toml"));
        assert!(!lab.is_editable("kernel/build.rs"));
        assert!(!lab.is_editable("kernel/kernel.ld"));
        assert!(!lab.is_editable("user/src/bin/usertests.rs"));
        assert!(!lab.is_editable("xv6fs/src/lib.rs"));
        assert!(!lab.is_editable(".cargo/config.toml"));
        assert!(!lab.is_editable("kernel/src/notes.txt"));
        assert_eq!(list(&Assets::Embedded), ["cow", "lazy"]);
    }

    #[test]
    fn build_timeout_is_optional_humantime() {
        let lab = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap();
        assert_eq!(lab.build_timeout, None);
        let lab = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = []\nbuild_timeout = \"5m\"\n",
        )
        .unwrap();
        assert_eq!(lab.build_timeout, Some(std::time::Duration::from_secs(300)));
        let err = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = []\nbuild_timeout = \"soon\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("build_timeout"), "{err}");
    }

    #[test]
    fn each_lab_names_its_own_test_programs() {
        let lazy = Lab::load(&Assets::Embedded, "lazy").unwrap();
        assert_eq!(lazy.test_programs.unwrap(), ["lazytests", "usertests"]);
        let cow = Lab::load(&Assets::Embedded, "cow").unwrap();
        assert_eq!(cow.test_programs.unwrap(), ["cowtest", "usertests"]);
        let none = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap();
        assert_eq!(none.test_programs, None);
    }

    #[test]
    fn unknown_lab_names_the_known_ones() {
        let err = Lab::load(&Assets::Embedded, "nosuchlab")
            .unwrap_err()
            .to_string();
        assert!(err.contains("known labs: cow, lazy"), "{err}");
    }

    #[test]
    fn bad_lab_files_are_refused() {
        let err = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = [\"a\"]\nextra = 1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
        let err = Lab::parse(
            "x",
            "name = \"y\"\ntitle = \"t\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("lab directory is `x`"), "{err}");
        let err = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"s\"\neditable = [\"a[\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("editable pattern `a[`"), "{err}");
    }

    #[test]
    fn the_starter_must_be_named_and_stay_inside_the_material() {
        let err = Lab::parse("x", "name = \"x\"\ntitle = \"t\"\neditable = []\n").unwrap_err();
        assert!(err.to_string().contains("missing field `starter`"), "{err}");
        for bad in ["../k", "/k", "a/./b", ""] {
            let text = format!("name = \"x\"\ntitle = \"t\"\nstarter = \"{bad}\"\neditable = []\n");
            let err = Lab::parse("x", &text).unwrap_err();
            assert!(err.to_string().contains("`starter` is"), "{bad}: {err}");
        }
        let lab = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\nstarter = \"trees/k/\"\neditable = []\n",
        )
        .unwrap();
        assert_eq!(lab.starter, "trees/k");
    }

    #[test]
    fn a_lab_whose_starter_is_not_in_the_material_does_not_load() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("labs/x")).unwrap();
        std::fs::write(
            home.path().join("labs/x/lab.toml"),
            "name = \"x\"\ntitle = \"t\"\nstarter = \"k\"\neditable = []\n",
        )
        .unwrap();
        let assets = Assets::Dir(home.path().to_path_buf());
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::NoStarter { .. }), "{err}");
        assert!(err.to_string().contains("starter tree `k`"), "{err}");
        std::fs::create_dir_all(home.path().join("k/kernel")).unwrap();
        std::fs::write(home.path().join("k/kernel/a.rs"), "").unwrap();
        assert_eq!(Lab::load(&assets, "x").unwrap().starter, "k");
    }

    #[test]
    fn a_test_program_the_starter_lacks_is_named_when_the_lab_loads() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("labs/x")).unwrap();
        std::fs::create_dir_all(home.path().join("k/user/src/bin/usertests")).unwrap();
        std::fs::write(home.path().join("k/user/src/bin/lazytests.rs"), "").unwrap();
        std::fs::write(home.path().join("k/user/src/bin/usertests/main.rs"), "").unwrap();
        std::fs::write(home.path().join("k/user/src/bin/usertests/brk.rs"), "").unwrap();
        let lab_toml = |programs: &str| {
            std::fs::write(
                home.path().join("labs/x/lab.toml"),
                format!(
                    "name = \"x\"\ntitle = \"t\"\nstarter = \"k\"\neditable = []\n\
                     test_programs = [{programs}]\n"
                ),
            )
            .unwrap();
        };
        let assets = Assets::Dir(home.path().to_path_buf());
        lab_toml("\"lazytest\", \"usertests\"");
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::UnknownTestProgram { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "load lab `x`: lab.toml's `test_programs` names `lazytest`, which is not a program \
             of its starter tree `k` (its programs: lazytests, usertests)"
        );
        lab_toml("\"lazytests\", \"usertests\"");
        let lab = Lab::load(&assets, "x").unwrap();
        assert_eq!(lab.test_programs.unwrap(), ["lazytests", "usertests"]);
    }
}
