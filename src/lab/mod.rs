//! What a lab is, as course staff write it: its `lab.toml` (this module),
//! where its material is found ([`assets`]: `labs/`, the grading
//! directories and the starter tree, embedded or from `XVLAB_HOME`), its
//! rubric ([`rubric`]: `rubric.toml` of the lab's grading directory), and
//! the reference durations its VMs' deadlines scale from ([`deadline`]:
//! `durations.toml` beside it). The stages read these; nothing here reads
//! a stage.
//!
//! Lab definitions: `labs/<lab>/lab.toml` says what a lab is called,
//! where its grading material is (`grading`), which paths of the kernel
//! tree a submission may change and, optionally, how long a build may take
//! (`build_timeout`) and which test programs go on the image
//! (`test_programs`) ([`Lab`]). Its starter is a tree of the material
//! (`starter`), or that tree with a patch applied (`starter_patch`, read
//! and parsed once, as the lab loads: [`StarterPatch`]), so that a lab can
//! start from another lab's kernel without a copy of it. Every path of a
//! lab's material is one of [`Lab`]'s methods, so no other module knows
//! where a lab keeps its files.
//!
//! Everything outside `editable` belongs to the grader: it is restored from
//! the pristine tree before a submission is built, and a patch that touches
//! it is refused.

pub mod assets;
pub mod deadline;
pub mod rubric;

use std::borrow::Cow;
use std::collections::BTreeSet;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::lab::assets::{AssetError, Assets};
use crate::shared::exit;
use crate::shared::patch::{self, PatchError, PatchFile};

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
        "load lab `{name}`: its grading directory `{grading}` (lab.toml's `grading`) is not in \
         {source_name}: point `grading` at the directory holding the lab's rubric.toml"
    )]
    NoGrading {
        name: String,
        grading: String,
        source_name: String,
    },
    #[error(
        "load lab `{name}`: its grading directory `{grading}` (lab.toml's `grading`) has no \
         rubric.toml in {source_name}: write the rubric at `{grading}/rubric.toml`, or point \
         `grading` at the directory that has it"
    )]
    NoRubric {
        name: String,
        grading: String,
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
    #[error(
        "load lab `{name}`: its starter patch `{patch}` (lab.toml's `starter_patch`) is not in {source_name}"
    )]
    NoStarterPatch {
        name: String,
        patch: String,
        source_name: String,
    },
    #[error(
        "load lab `{name}`: its starter patch `{patch}` (lab.toml's `starter_patch`) is not a patch"
    )]
    BadStarterPatch {
        name: String,
        patch: String,
        #[source]
        source: PatchError,
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
    grading: String,
    starter: String,
    #[serde(default)]
    starter_patch: Option<String>,
    editable: Vec<String>,
    #[serde(default, with = "humantime_serde")]
    build_timeout: Option<std::time::Duration>,
    #[serde(default)]
    test_programs: Option<Vec<String>>,
}

/// A lab.
#[derive(Clone, Debug)]
pub struct Lab {
    /// Short name (`lazy`), also the directory name under labs/.
    pub name: String,
    /// Human title.
    pub title: String,
    /// The lab's grading directory (`grading`, e.g. `grading/lazy`): the
    /// grader's material (rubric, reference solution, durations, self-test
    /// expectations, known-bad submissions, equivalent mutants), read
    /// through the path methods below.
    pub grading: String,
    /// The starter tree, a directory of the grading material (`starter`,
    /// e.g. `reference-kernel`): what a student copy starts from, what
    /// patches apply to, and where the grader's files are restored from.
    pub starter: String,
    /// A patch of the material applied to the starter tree to make the
    /// starter (`starter_patch`, e.g. `labs/cow/starter.patch`), so that a
    /// lab can start from another lab's kernel, or the base kernel with a
    /// lab's test programs added, read and parsed when the lab loads.
    /// `None`: the tree as it is. Every reader of the starter reads it
    /// applied (`submission::starter`).
    pub starter_patch: Option<StarterPatch>,
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

/// A lab's starter patch, as [`Lab::load`] read it from the material: the
/// one reading of it, so that what is applied to the starter tree, what
/// the lab's programs are counted from and what the kept-results key
/// covers are the same bytes.
#[derive(Clone, Debug)]
pub struct StarterPatch {
    /// Its path within the material, as lab.toml's `starter_patch` names it.
    pub path: String,
    /// Its bytes, as read.
    pub bytes: Cow<'static, [u8]>,
    /// Its patches, in the order they apply.
    pub parsed: PatchFile,
}

impl Lab {
    /// Load `labs/<name>/lab.toml` from `assets`.
    pub fn load(assets: &Assets, name: &str) -> Result<Lab, LabError> {
        let path = format!("{}/lab.toml", folder(name));
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
        let (mut lab, starter_patch) = Lab::parse(name, &text)?;
        // Without its rubric the lab grades nothing; a misspelt `grading`
        // is said here, as the lab's error, not as a missing file later.
        let grading = files_of(assets, name, &lab.grading)?;
        if grading.is_empty() {
            return Err(LabError::NoGrading {
                name: name.to_string(),
                grading: lab.grading,
                source_name: assets.describe(),
            });
        }
        if !grading.contains(&lab.rubric_path()) {
            return Err(LabError::NoRubric {
                name: name.to_string(),
                grading: lab.grading,
                source_name: assets.describe(),
            });
        }
        // A starter that names no files would grade every submission
        // against nothing.
        let files = files_of(assets, name, &lab.starter)?;
        if files.is_empty() {
            return Err(LabError::NoStarter {
                name: name.to_string(),
                starter: lab.starter,
                source_name: assets.describe(),
            });
        }
        lab.starter_patch = starter_patch
            .map(|path| read_starter_patch(assets, name, path))
            .transpose()?;
        let files = lab.starter_files(&files);
        // A misspelt test program would leave the image without it, and
        // every test of its sessions would fail as if the kernel could not
        // run it: say so now, as the lab's error.
        if let Some(tests) = &lab.test_programs {
            let known = programs_of(&files);
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

    /// Parse a lab.toml for the lab named `name`: the lab, without its
    /// starter patch, and the path lab.toml names for that patch, which
    /// only [`Lab::load`] reads, from the material.
    pub(crate) fn parse(name: &str, text: &str) -> Result<(Lab, Option<String>), LabError> {
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
        let grading = material_dir(name, "grading", &file.grading, "grading/lazy")?;
        let starter = material_dir(name, "starter", &file.starter, "reference-kernel")?;
        let starter_patch = file
            .starter_patch
            .map(|patch| material_path(name, "starter_patch", &patch, "labs/cow/starter.patch"))
            .transpose()?;
        let lab = Lab {
            name: file.name,
            title: file.title,
            grading,
            starter,
            starter_patch: None,
            editable_patterns: file.editable,
            build_timeout: file.build_timeout,
            test_programs: file.test_programs,
            editable,
        };
        Ok((lab, starter_patch))
    }

    /// The paths of the starter, relative to its tree, from the paths of
    /// the starter tree's `files` in the material and what the starter
    /// patch, if any, creates, deletes and renames (the patch is applied
    /// only where a submission is prepared).
    fn starter_files(&self, files: &[String]) -> BTreeSet<String> {
        let prefix = format!("{}/", self.starter);
        let mut paths: BTreeSet<String> = files
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix))
            .map(str::to_string)
            .collect();
        if let Some(patch) = &self.starter_patch {
            for p in &patch.parsed.patches {
                p.update_paths(&mut paths);
            }
        }
        paths
    }

    /// May a submission change `path` (relative to the kernel tree,
    /// `/`-separated, already checked to be a plain relative path)?
    pub fn is_editable(&self, path: &str) -> bool {
        self.editable.is_match(path)
    }

    /// The path within the assets of `file` (`/`-separated, relative) of
    /// the lab's grading directory: every grading path is one of these.
    pub fn grading_path(&self, file: &str) -> String {
        format!("{}/{file}", self.grading)
    }

    /// The rubric's path within the assets.
    pub fn rubric_path(&self) -> String {
        self.grading_path("rubric.toml")
    }

    /// The reference solution's path within the assets (what the
    /// self-test, mutation analysis and the HTML report's diffs grade).
    pub fn solution_path(&self) -> String {
        self.grading_path("solution.patch")
    }

    /// The reference durations' path within the assets (see [`deadline`]).
    pub fn durations_path(&self) -> String {
        self.grading_path("durations.toml")
    }

    /// The directory of the self-test's expectations, one `CASE.toml` each.
    pub fn expected_dir(&self) -> String {
        self.grading_path("expected")
    }

    /// The equivalent mutants' path within the assets (mutants no test can
    /// kill, with the reason).
    pub fn equivalent_mutants_path(&self) -> String {
        self.grading_path("equivalent-mutants.toml")
    }

    /// The folder of the lab's `lab.toml` within the assets: the lab as
    /// students see it.
    pub fn folder(&self) -> String {
        folder(&self.name)
    }

    /// The `lab.toml`'s path within the assets.
    pub fn definition_path(&self) -> String {
        format!("{}/lab.toml", self.folder())
    }

    /// The student handout's path within the assets: the README beside
    /// `lab.toml`.
    pub fn handout_path(&self) -> String {
        format!("{}/README.md", self.folder())
    }
}

/// The files under `dir` of the material, for loading lab `name`.
fn files_of(assets: &Assets, name: &str, dir: &str) -> Result<Vec<String>, LabError> {
    assets.list(dir).map_err(|source| LabError::Asset {
        name: name.to_string(),
        source,
    })
}

/// Read and parse lab `name`'s starter patch at `path` of the material: a
/// patch that is missing or not a patch stops the lab from loading.
fn read_starter_patch(assets: &Assets, name: &str, path: String) -> Result<StarterPatch, LabError> {
    let bytes = assets.read(&path).map_err(|source| match source {
        AssetError::NotFound { source_name, .. } => LabError::NoStarterPatch {
            name: name.to_string(),
            patch: path.clone(),
            source_name,
        },
        source => LabError::Asset {
            name: name.to_string(),
            source,
        },
    })?;
    let parsed = patch::parse(&path, &bytes).map_err(|source| LabError::BadStarterPatch {
        name: name.to_string(),
        patch: path.clone(),
        source,
    })?;
    Ok(StarterPatch {
        path,
        bytes,
        parsed,
    })
}

/// The folder of lab `name`'s `lab.toml` within the assets: labs are found
/// by it ([`list`]).
fn folder(name: &str) -> String {
    format!("labs/{name}")
}

/// lab.toml's `key`, a directory of the material: relative, without `.` or
/// `..` (nothing outside the material is read), trailing `/` dropped.
fn material_dir(name: &str, key: &str, value: &str, example: &str) -> Result<String, LabError> {
    material(
        name,
        key,
        value.trim_end_matches('/'),
        value,
        "directory",
        example,
    )
}

/// lab.toml's `key`, a file of the material, by the same rule.
fn material_path(name: &str, key: &str, value: &str, example: &str) -> Result<String, LabError> {
    material(name, key, value, value, "file", example)
}

fn material(
    name: &str,
    key: &str,
    path: &str,
    value: &str,
    what: &str,
    example: &str,
) -> Result<String, LabError> {
    if path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(LabError::Parse {
            name: name.to_string(),
            message: format!(
                "`{key}` is `{value}`: name a {what} of the material, \
                 relative and without `.` or `..` (for example `{example}`)"
            ),
        });
    }
    Ok(path.to_string())
}

/// The user programs of a starter, from its `files` (relative to its
/// tree; [`crate::shared::layout`]).
fn programs_of(files: &BTreeSet<String>) -> BTreeSet<String> {
    use crate::shared::layout;
    let bin = format!("{}/", layout::BIN_DIR);
    files
        .iter()
        .filter_map(|f| f.strip_prefix(&bin))
        .filter_map(layout::program_of)
        .map(str::to_string)
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
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap()
        .0;
        assert_eq!(lab.build_timeout, None);
        let lab = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = []\nbuild_timeout = \"5m\"\n",
        )
        .unwrap()
        .0;
        assert_eq!(lab.build_timeout, Some(std::time::Duration::from_secs(300)));
        let err = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = []\nbuild_timeout = \"soon\"\n",
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
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap()
        .0;
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
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = [\"a\"]\nextra = 1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
        let err = Lab::parse(
            "x",
            "name = \"y\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = []\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("lab directory is `x`"), "{err}");
        let err = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"s\"\neditable = [\"a[\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("editable pattern `a[`"), "{err}");
    }

    #[test]
    fn the_grading_and_starter_directories_must_be_named_and_stay_inside_the_material() {
        let lab_toml = |grading: Option<&str>, starter: Option<&str>| {
            let mut text = "name = \"x\"\ntitle = \"t\"\neditable = []\n".to_string();
            for (key, value) in [("grading", grading), ("starter", starter)] {
                if let Some(value) = value {
                    text.push_str(&format!("{key} = \"{value}\"\n"));
                }
            }
            text
        };
        for (key, text) in [
            ("grading", lab_toml(None, Some("k"))),
            ("starter", lab_toml(Some("g"), None)),
        ] {
            let err = Lab::parse("x", &text).unwrap_err().to_string();
            assert!(err.contains(&format!("missing field `{key}`")), "{err}");
        }
        for bad in ["../k", "/k", "a/./b", "a//b", ""] {
            for (key, text) in [
                ("grading", lab_toml(Some(bad), Some("k"))),
                ("starter", lab_toml(Some("g"), Some(bad))),
            ] {
                let err = Lab::parse("x", &text).unwrap_err().to_string();
                assert!(err.contains(&format!("`{key}` is `{bad}`")), "{bad}: {err}");
            }
        }
        let lab = Lab::parse("x", &lab_toml(Some("course/x/"), Some("trees/k/")))
            .unwrap()
            .0;
        assert_eq!(lab.grading, "course/x");
        assert_eq!(lab.starter, "trees/k");
        assert_eq!(lab.rubric_path(), "course/x/rubric.toml");
    }

    /// A lab home holding `labs/x/lab.toml` (`lab_toml`) and a grading
    /// directory `g` with a rubric.
    fn home(lab_toml: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("labs/x")).unwrap();
        std::fs::write(home.path().join("labs/x/lab.toml"), lab_toml).unwrap();
        std::fs::create_dir_all(home.path().join("g")).unwrap();
        std::fs::write(home.path().join("g/rubric.toml"), "").unwrap();
        home
    }

    #[test]
    fn a_lab_whose_starter_is_not_in_the_material_does_not_load() {
        let home =
            home("name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\neditable = []\n");
        let assets = Assets::Dir(home.path().to_path_buf());
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::NoStarter { .. }), "{err}");
        assert!(err.to_string().contains("starter tree `k`"), "{err}");
        std::fs::create_dir_all(home.path().join("k/kernel")).unwrap();
        std::fs::write(home.path().join("k/kernel/a.rs"), "").unwrap();
        assert_eq!(Lab::load(&assets, "x").unwrap().starter, "k");
    }

    #[test]
    fn each_bundled_lab_finds_its_material_in_the_grading_directory_it_names() {
        for name in ["lazy", "cow"] {
            let lab = Lab::load(&Assets::Embedded, name).unwrap();
            assert_eq!(lab.grading, format!("grading/{name}"));
            assert_eq!(lab.rubric_path(), format!("grading/{name}/rubric.toml"));
            for path in [
                lab.definition_path(),
                lab.handout_path(),
                lab.rubric_path(),
                lab.solution_path(),
                lab.durations_path(),
            ] {
                assert!(Assets::Embedded.read(&path).is_ok(), "{path}");
            }
            let expected = Assets::Embedded.list(&lab.expected_dir()).unwrap();
            assert!(!expected.is_empty(), "{name}: no self-test cases");
        }
        let lazy = Lab::load(&Assets::Embedded, "lazy").unwrap();
        assert_eq!(lazy.handout_path(), "labs/lazy/README.md");
        let equivalents = lazy.equivalent_mutants_path();
        assert!(Assets::Embedded.read(&equivalents).is_ok(), "{equivalents}");
    }

    #[test]
    fn a_lab_whose_grading_directory_is_missing_or_has_no_rubric_does_not_load() {
        let home = home(
            "name = \"x\"\ntitle = \"t\"\ngrading = \"course/x/\"\nstarter = \"k\"\neditable = []\n",
        );
        std::fs::create_dir_all(home.path().join("k/kernel")).unwrap();
        std::fs::write(home.path().join("k/kernel/a.rs"), "").unwrap();
        let assets = Assets::Dir(home.path().to_path_buf());
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::NoGrading { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "load lab `x`: its grading directory `course/x` (lab.toml's `grading`) is not in \
                 {}: point `grading` at the directory holding the lab's rubric.toml",
                assets.describe()
            )
        );
        assert_eq!(err.exit_code(), exit::BAD_LAB);
        std::fs::create_dir_all(home.path().join("course/x")).unwrap();
        std::fs::write(home.path().join("course/x/solution.patch"), "").unwrap();
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::NoRubric { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "load lab `x`: its grading directory `course/x` (lab.toml's `grading`) has no \
                 rubric.toml in {}: write the rubric at `course/x/rubric.toml`, or point \
                 `grading` at the directory that has it",
                assets.describe()
            )
        );
        std::fs::write(home.path().join("course/x/rubric.toml"), "").unwrap();
        let lab = Lab::load(&assets, "x").unwrap();
        assert_eq!(lab.rubric_path(), "course/x/rubric.toml");
        assert_eq!(lab.solution_path(), "course/x/solution.patch");
        assert_eq!(lab.handout_path(), "labs/x/README.md");
    }

    #[test]
    fn a_test_program_the_starter_lacks_is_named_when_the_lab_loads() {
        let home = home("");
        std::fs::create_dir_all(home.path().join("k/user/src/bin/usertests")).unwrap();
        std::fs::write(home.path().join("k/user/src/bin/lazytests.rs"), "").unwrap();
        std::fs::write(home.path().join("k/user/src/bin/usertests/main.rs"), "").unwrap();
        std::fs::write(home.path().join("k/user/src/bin/usertests/brk.rs"), "").unwrap();
        let lab_toml = |programs: &str| {
            std::fs::write(
                home.path().join("labs/x/lab.toml"),
                format!(
                    "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\neditable = []\n\
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

    /// A home with lab `x` whose starter is tree `k` (one program, `ls`)
    /// plus the patch `labs/x/starter.patch` holding `patch`.
    fn home_with_starter_patch(test_programs: &str, patch: Option<&str>) -> tempfile::TempDir {
        let home = home(&format!(
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\n\
             starter_patch = \"labs/x/starter.patch\"\neditable = []\n\
             test_programs = [{test_programs}]\n"
        ));
        std::fs::create_dir_all(home.path().join("k/user/src/bin")).unwrap();
        std::fs::write(home.path().join("k/user/src/bin/ls.rs"), "fn main() {}\n").unwrap();
        if let Some(patch) = patch {
            std::fs::write(home.path().join("labs/x/starter.patch"), patch).unwrap();
        }
        home
    }

    const ADDS_COWTEST_REMOVES_LS: &str = "\
diff --git a/user/src/bin/cowtest.rs b/user/src/bin/cowtest.rs
new file mode 100644
--- /dev/null
+++ b/user/src/bin/cowtest.rs
@@ -0,0 +1 @@
+fn main() {}
diff --git a/user/src/bin/ls.rs b/user/src/bin/ls.rs
deleted file mode 100644
--- a/user/src/bin/ls.rs
+++ /dev/null
@@ -1 +0,0 @@
-fn main() {}
";

    #[test]
    fn the_programs_of_a_starter_are_those_after_its_starter_patch() {
        let home = home_with_starter_patch("\"cowtest\"", Some(ADDS_COWTEST_REMOVES_LS));
        let assets = Assets::Dir(home.path().to_path_buf());
        let lab = Lab::load(&assets, "x").unwrap();
        let patch = lab.starter_patch.unwrap();
        assert_eq!(patch.path, "labs/x/starter.patch");
        assert_eq!(&patch.bytes[..], ADDS_COWTEST_REMOVES_LS.as_bytes());

        let home = home_with_starter_patch("\"ls\"", Some(ADDS_COWTEST_REMOVES_LS));
        let err = Lab::load(&Assets::Dir(home.path().to_path_buf()), "x").unwrap_err();
        assert!(matches!(err, LabError::UnknownTestProgram { .. }), "{err}");
        assert!(err.to_string().contains("(its programs: cowtest)"), "{err}");
    }

    #[test]
    fn a_starter_patch_that_is_missing_or_not_a_patch_stops_the_lab_from_loading() {
        let home = home_with_starter_patch("", None);
        let assets = Assets::Dir(home.path().to_path_buf());
        let err = Lab::load(&assets, "x").unwrap_err();
        assert!(matches!(err, LabError::NoStarterPatch { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "load lab `x`: its starter patch `labs/x/starter.patch` (lab.toml's \
                 `starter_patch`) is not in {}",
                assets.describe()
            )
        );
        assert_eq!(err.exit_code(), exit::BAD_LAB);

        let home = home_with_starter_patch("", Some("just some words\n"));
        let err = Lab::load(&Assets::Dir(home.path().to_path_buf()), "x").unwrap_err();
        assert!(matches!(err, LabError::BadStarterPatch { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "load lab `x`: its starter patch `labs/x/starter.patch` (lab.toml's \
             `starter_patch`) is not a patch"
        );
        assert_eq!(err.exit_code(), exit::BAD_LAB);
    }

    #[test]
    fn a_starter_patch_must_stay_inside_the_material() {
        for bad in ["/etc/p.patch", "../p.patch", "labs/../../p.patch", ""] {
            let text = format!(
                "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\n\
                 starter_patch = \"{bad}\"\neditable = []\n"
            );
            let err = Lab::parse("x", &text).unwrap_err();
            assert!(
                err.to_string().contains("name a file of the material"),
                "{bad}: {err}"
            );
        }
        let text = "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\n\
                    starter_patch = \"labs/x/starter.patch\"\neditable = []\n";
        let (_, patch) = Lab::parse("x", text).unwrap();
        assert_eq!(patch.as_deref(), Some("labs/x/starter.patch"));
    }
}
