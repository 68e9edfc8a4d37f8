//! Many gradings sharing one machine ([`Pool::run`]): one pool of VMs for
//! a list of submissions, one build cache, and the results kept between
//! runs by key ([`Store`], [`Key`]). `xvlab mutants` grades its mutants
//! with it and `xvlab grade-all` a class.
//!
//! Two gradings are under way at once when `jobs` allows (each with half
//! the VMs): builds are serialised by the build cache's lock, so while one
//! grading's VMs run, the next one builds, and the VMs never exceed
//! `jobs`. A result is kept under a key that hashes everything that
//! decides it, so a rerun grades only what is new or changed (and what a
//! result itself says is not worth keeping, see [`Keepable`]), and items
//! of one key in one list are graded once.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::grade::progress::Progress;
use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};

/// A resume key: a 128-bit hash, as 32 hex digits, of everything that
/// decides a result — for a mutant its patch, the solution, the rubric,
/// the starter tree with its test programs, the reference durations (they
/// set the deadlines), the test selection; for a class's submission its
/// content and the lab's material — and xvlab's version. Not a defence
/// against anyone: the inputs are the staff's own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key(String);

/// The hash state of everything but the graded item, computed once per
/// run.
#[derive(Clone, Debug)]
pub struct KeyBase {
    parts: Vec<u8>,
}

impl KeyBase {
    /// Start from xvlab's version.
    pub fn new() -> KeyBase {
        let mut base = KeyBase { parts: Vec::new() };
        base.add("xvlab", env!("CARGO_PKG_VERSION").as_bytes());
        base
    }

    /// Add a named input. Length-prefixed, so that inputs cannot run into
    /// each other.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        for part in [name.as_bytes(), bytes] {
            self.parts
                .extend_from_slice(&(part.len() as u64).to_le_bytes());
            self.parts.extend_from_slice(part);
        }
    }

    /// The key of one item: this base with `bytes` added as `name`.
    pub fn key(&self, name: &str, bytes: &[u8]) -> Key {
        let mut all = self.clone();
        all.add(name, bytes);
        // Two SipHash-2-4 halves under two fixed keys: 128 bits. (A seal
        // key's two halves are XORed together, so only the first half is
        // set: equal halves would make every key zero.)
        let half = |k: u8| {
            let mut bytes = [0u8; seal::KEY_LEN];
            bytes[..seal::KEY_LEN / 2].fill(k);
            seal::Key::from_bytes(&bytes).seal(0, 0, &all.parts)
        };
        Key(format!("{:016x}{:016x}", half(1), half(2)))
    }
}

impl Default for KeyBase {
    fn default() -> KeyBase {
        KeyBase::new()
    }
}

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A result that can say it is not worth keeping (a grader fault: the
/// next run grades that item again).
pub trait Keepable {
    fn worth_keeping(&self) -> bool {
        true
    }
}

/// One kept result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept<T> {
    /// The item's name, for a person reading the store.
    pub name: String,
    #[serde(flatten)]
    pub value: T,
    /// How long grading it took.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// The results of earlier runs: one JSON file per key in a folder.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    /// The kept result for `key`; none if there is none or it cannot be
    /// read (then the item is graded again).
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Option<Kept<T>> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keep a result. Written to a temporary file and renamed, so that an
    /// interrupted write leaves no half a result.
    pub fn put<T: Serialize>(&self, key: &Key, kept: &Kept<T>) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let json = serde_json::to_vec_pretty(kept).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!(".{}.tmp", key.as_str()));
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, self.path(key))
    }
}

/// How a list of submissions is graded, whatever they are.
#[derive(Clone, Debug)]
pub struct ManyOptions {
    /// How each one is graded; `jobs` is the VMs at once over all of them.
    pub grading: crate::grade::Options,
    /// `--test` patterns: only these tests grade them.
    pub tests: Vec<String>,
    /// Grade every one again, ignoring kept results.
    pub force: bool,
}

impl ManyOptions {
    /// The pool these options grade on.
    pub fn pool<'a>(
        &self,
        store: &'a Store,
        progress: &'a Progress,
        cancel: &'a CancellationToken,
    ) -> Pool<'a> {
        Pool {
            store,
            jobs: self.grading.jobs,
            force: self.force,
            progress,
            cancel,
        }
    }
}

/// One item to grade.
#[derive(Clone, Debug)]
pub struct Item<I> {
    pub key: Key,
    /// Its name, in progress lines.
    pub name: String,
    pub item: I,
}

/// One item's result, as [`Pool::run`] hands it on.
pub struct Finished<I, T> {
    /// Its position in the list given.
    pub index: usize,
    pub item: Item<I>,
    pub kept: Kept<T>,
    /// Kept from an earlier run, not graded now.
    pub was_kept: bool,
}

/// How a list of items shares the machine.
pub struct Pool<'a> {
    pub store: &'a Store,
    /// VMs at once over all gradings.
    pub jobs: usize,
    /// Grade every item again, ignoring kept results.
    pub force: bool,
    pub progress: &'a Progress,
    pub cancel: &'a CancellationToken,
}

impl Pool<'_> {
    /// The kept result of `item`, unless `force`.
    pub fn kept<T: DeserializeOwned>(&self, key: &Key) -> Option<Kept<T>> {
        (!self.force).then(|| self.store.get(key)).flatten()
    }

    /// Grade `items` with `grade(item, vms)` (a copy of the item, which the
    /// grading may hold across its awaits) — `vms` is that grading's
    /// share of the pool — at most two at once, reusing kept results; each
    /// result goes to `finished` as it comes (in completion order). A
    /// grading that returns `None` (Ctrl-C stopped it) gives no result.
    /// The first `Err` stops the others (what finished is kept) and is
    /// returned.
    pub async fn run<I, T, E, G, F>(
        &self,
        items: Vec<Item<I>>,
        grade: G,
        mut finished: impl FnMut(Finished<I, T>),
    ) -> Result<(), E>
    where
        T: Serialize + DeserializeOwned + Keepable + Clone,
        I: Clone,
        G: Fn(I, usize) -> F,
        F: Future<Output = Result<Option<T>, E>>,
    {
        let jobs = self.jobs.max(1);
        // Items of one key (the same files handed in twice) are graded
        // once: the first of them, and its result is every one's.
        let mut same: std::collections::HashMap<Key, Vec<(usize, Item<I>)>> =
            std::collections::HashMap::new();
        let mut firsts = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            match same.get_mut(&item.key) {
                Some(others) => others.push((index, item)),
                None => {
                    same.insert(item.key.clone(), Vec::new());
                    firsts.push((index, item));
                }
            }
        }
        // Two gradings at once only when there are two to grade: a lone
        // one gets every VM.
        let to_grade = firsts
            .iter()
            .filter(|(_, i)| self.kept::<T>(&i.key).is_none())
            .count();
        let pipelines = jobs.min(2).min(to_grade.max(1));
        let vms = (jobs / pipelines).max(1);
        let grade = &grade;
        let gradings = futures::stream::iter(firsts)
            .map(|(index, item)| async move {
                if let Some(kept) = self.kept(&item.key) {
                    return (index, item, Ok(Some((kept, true))));
                }
                if self.cancel.is_cancelled() {
                    return (index, item, Ok(None));
                }
                self.progress.begin(&item.name);
                let started = Instant::now();
                let graded = grade(item.item.clone(), vms).await;
                self.progress.end(&item.name);
                let graded = graded.map(|value| {
                    value.map(|value: T| {
                        let kept = Kept {
                            name: item.name.clone(),
                            value,
                            duration: started.elapsed(),
                        };
                        if kept.value.worth_keeping() {
                            // Losing a kept result only costs a regrade.
                            let _ = self.store.put(&item.key, &kept);
                        }
                        (kept, false)
                    })
                });
                (index, item, graded)
            })
            .buffer_unordered(pipelines);
        futures::pin_mut!(gradings);
        let mut fault = None;
        while let Some((index, item, graded)) = gradings.next().await {
            match graded {
                Ok(Some((kept, was_kept))) => {
                    for (index, item) in same.remove(&item.key).unwrap_or_default() {
                        finished(Finished {
                            index,
                            item,
                            kept: kept.clone(),
                            was_kept,
                        });
                    }
                    finished(Finished {
                        index,
                        item,
                        kept,
                        was_kept,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    self.cancel.cancel();
                    fault.get_or_insert(e);
                }
            }
        }
        match fault {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The hash state of a lab's material — `lab.toml`, the rubric (its
/// text, given), the reference solution, the reference durations (they set
/// the deadlines), the starter tree with its test programs and the starter
/// patch — and the test selection: what, besides the submission, decides a
/// grading's result.
pub fn material(
    assets: &Assets,
    lab: &Lab,
    rubric_text: &str,
    tests: &[String],
) -> Result<KeyBase, AssetError> {
    let mut base = KeyBase::new();
    base.add("rubric", rubric_text.as_bytes());
    base.add("tests", tests.join("\n").as_bytes());
    let optional = [
        lab.definition_path(),
        lab.solution_path(),
        lab.durations_path(),
    ];
    let mut files = assets.list(&lab.starter)?;
    let patch = lab.starter_patch.as_ref();
    files.extend(patch.map(|p| p.path.clone()));
    files.sort();
    for (file, required) in optional
        .into_iter()
        .map(|f| (f, false))
        .chain(files.into_iter().map(|f| (f, true)))
    {
        // The starter patch's bytes are those the lab loaded and applies.
        if let Some(patch) = patch.filter(|p| p.path == file) {
            base.add(&file, &patch.bytes);
            continue;
        }
        match assets.read(&file) {
            Ok(bytes) => base.add(&file, &bytes),
            Err(AssetError::NotFound { .. }) if !required => {}
            Err(e) => return Err(e),
        }
    }
    Ok(base)
}

/// The store's folder for `kind` (`mutants`) of `lab` in a cache.
pub fn cache_dir(cache_root: &Path, kind: &str, lab: &str) -> PathBuf {
    cache_root.join(kind).join(lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Value {
        score: u32,
    }

    #[test]
    fn the_key_changes_with_every_input_and_only_with_them() {
        let base = |solution: &str, rubric: &str| {
            let mut b = KeyBase::new();
            b.add("solution", solution.as_bytes());
            b.add("rubric", rubric.as_bytes());
            b
        };
        let k = base("s", "r").key("item", b"m");
        assert_eq!(k, base("s", "r").key("item", b"m"));
        assert_eq!(k.as_str().len(), 32);
        // Two independent halves, not one hash twice.
        assert_ne!(k.as_str()[..16], k.as_str()[16..]);
        assert_ne!(k, base("s", "r").key("item", b"m2"));
        assert_ne!(k, base("s2", "r").key("item", b"m"));
        assert_ne!(k, base("s", "r2").key("item", b"m"));
        // Inputs cannot run into each other.
        assert_ne!(
            base("sr", "").key("item", b"m"),
            base("s", "r").key("item", b"m")
        );
    }

    #[test]
    fn the_material_key_covers_the_starter_patchs_bytes() {
        let patch = |to: &str| {
            format!("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-the base kernel\n+{to}\n")
        };
        let (home, assets, _) = crate::submission::starter::tests::home(&patch("the cow kernel"));
        let key = |to: &str| {
            std::fs::write(home.path().join("labs/x/starter.patch"), patch(to)).unwrap();
            let lab = Lab::load(&assets, "x").unwrap();
            material(&assets, &lab, "", &[]).unwrap().key("item", b"m")
        };
        let cow = key("the cow kernel");
        assert_eq!(cow, key("the cow kernel"));
        assert_ne!(cow, key("the lazy kernel"));
    }

    #[test]
    fn a_kept_result_is_read_back_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(cache_dir(dir.path(), "mutants", "lazy"));
        let key = KeyBase::new().key("item", b"m");
        assert_eq!(store.get::<Value>(&key), None);
        let kept = Kept {
            name: "kernel/src/vm.rs:1:1: replace x".into(),
            value: Value { score: 7 },
            duration: Duration::from_secs(40),
        };
        store.put(&key, &kept).unwrap();
        assert_eq!(store.get(&key), Some(kept));
        std::fs::write(store.path(&key), "{").unwrap();
        assert_eq!(store.get::<Value>(&key), None);
    }
}
