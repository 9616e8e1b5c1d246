//! The synthesis cache: when nothing that can change the cloud assembly changed, `synth` restores
//! the assembly it wrote last time for the same inputs instead of replaying the Program.
//!
//! The key is a SHA-256 of every input ([`Inputs`]): the recorded Program, the environment the
//! CLI passes (every `CDK_*` and `AWS_*` variable but `CDK_OUTDIR`, the context overflow file's
//! contents), the extra environment handed to the shim (the context when run without the CLI),
//! the shim, this binary's version, the project directory (aws-cdk-lib writes paths under it
//! into the assembly), and the project's `package-lock.json` with the installed
//! `package.json` of aws-cdk-lib, constructs and cdk-nag (the validation plugins are in the
//! Program). Each entry is a directory named by its full key, so different inputs never share one.
//!
//! Where: `$TRACKER_CDK_CACHE_DIR`, else `tracker-cdk/synth` beside the bridge's shim cache
//! (`$XDG_CACHE_HOME`, else `~/.cache`). At most [`MAX_ENTRIES`] entries are kept; the least
//! recently used go first. Off with `--no-cache` or `TRACKER_CDK_NO_CACHE=1`, which also turn off
//! the bridge's validation cache (per stack template, `cdk_from_rust::runner::validation_cache_dir`);
//! `TRACKER_CDK_NO_CACHE=synth` turns off this cache only.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Entries kept (an assembly of the tracker app is about 2 MB).
pub const MAX_ENTRIES: usize = 8;
/// Turns the cache off when set to anything but empty or `0`.
pub const NO_CACHE_ENV: &str = "TRACKER_CDK_NO_CACHE";
/// The cache directory, instead of the default.
pub const DIR_ENV: &str = "TRACKER_CDK_CACHE_DIR";

/// The packages whose installed version changes what the shim produces.
const PACKAGES: [&str; 3] = ["aws-cdk-lib", "constructs", "cdk-nag"];

/// Everything that can change the cloud assembly, as bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// `(name, contents)` pairs, in a fixed order; a missing file is recorded as missing.
    pub parts: Vec<(String, Option<Vec<u8>>)>,
}

impl Inputs {
    /// The inputs of replaying `program_json` with the extra shim environment `shim_env`, from
    /// this process's environment and the project found from the working directory.
    pub fn collect(program_json: &str, shim_env: &[(String, String)]) -> Inputs {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let project = project_dir(&std::env::current_dir().unwrap_or_default());
        Inputs::from_parts(program_json, shim_env, &env, project.as_deref())
    }

    /// [`Inputs::collect`] with the environment `env` and the project directory given.
    pub fn from_parts(
        program_json: &str,
        shim_env: &[(String, String)],
        env: &[(String, String)],
        project: Option<&Path>,
    ) -> Inputs {
        let mut parts: Vec<(String, Option<Vec<u8>>)> = vec![
            ("program".into(), Some(program_json.as_bytes().to_vec())),
            (
                "tracker-cdk".into(),
                Some(env!("CARGO_PKG_VERSION").as_bytes().to_vec()),
            ),
        ];
        let mut vars: Vec<&(String, String)> = env
            .iter()
            .filter(|(k, _)| (k.starts_with("CDK_") || k.starts_with("AWS_")) && k != "CDK_OUTDIR")
            .chain(shim_env.iter().map(|kv| kv as &(String, String)))
            .collect();
        vars.sort();
        for (k, v) in vars {
            parts.push((format!("env:{k}"), Some(v.as_bytes().to_vec())));
        }
        let read = |path: &Path| std::fs::read(path).ok();
        if let Some((_, file)) = env
            .iter()
            .find(|(k, _)| k == "CONTEXT_OVERFLOW_LOCATION_ENV")
        {
            parts.push(("context-file".into(), read(Path::new(file))));
        }
        let shim = match env.iter().find(|(k, _)| k == "CDK_FROM_RUST_SHIM") {
            Some((_, path)) => read(Path::new(path)),
            None => Some(cdk_from_rust::runner::SHIM_SOURCE.as_bytes().to_vec()),
        };
        parts.push(("shim".into(), shim));
        match project {
            Some(dir) => {
                // Where node_modules is: aws-cdk-lib writes its own paths into the assembly (the
                // validation report's stack traces).
                parts.push((
                    "project".into(),
                    Some(dir.as_os_str().as_encoded_bytes().to_vec()),
                ));
                parts.push((
                    "package-lock.json".into(),
                    read(&dir.join("package-lock.json")),
                ));
                for package in PACKAGES {
                    let manifest = dir.join("node_modules").join(package).join("package.json");
                    parts.push((format!("package:{package}"), read(&manifest)));
                }
            }
            None => parts.push(("project".into(), None)),
        }
        Inputs { parts }
    }

    /// The hex SHA-256 of every part, each framed by its name and length (so no two different
    /// inputs concatenate to the same bytes).
    pub fn key(&self) -> String {
        let mut hash = Sha256::new();
        for (name, contents) in &self.parts {
            hash.update((name.len() as u64).to_le_bytes());
            hash.update(name.as_bytes());
            match contents {
                Some(bytes) => {
                    hash.update([1]);
                    hash.update((bytes.len() as u64).to_le_bytes());
                    hash.update(bytes);
                }
                None => hash.update([0]),
            }
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The directory the shim loads aws-cdk-lib from, as Node resolves it: the nearest directory from
/// `start` upwards holding `node_modules/aws-cdk-lib`; else the nearest holding `package.json` or
/// `node_modules` (a project whose install is missing or broken: its files still key the cache).
fn project_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("node_modules").join("aws-cdk-lib").is_dir())
        .or_else(|| {
            start
                .ancestors()
                .find(|d| d.join("package.json").is_file() || d.join("node_modules").is_dir())
        })
        .map(Path::to_path_buf)
}

/// What `TRACKER_CDK_NO_CACHE` turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Off {
    /// Unset, empty or `0`: both caches are used.
    Nothing,
    /// `synth`: the synthesis cache only (the validation cache stays on).
    Synthesis,
    /// Anything else (`1`): the synthesis cache and the validation cache.
    All,
}

/// What `TRACKER_CDK_NO_CACHE` turns off.
pub fn off_by_env() -> Off {
    off_by_value(std::env::var(NO_CACHE_ENV).ok().as_deref())
}

fn off_by_value(value: Option<&str>) -> Off {
    match value {
        _ if !cdk_from_rust::runner::env_switch_on(value) => Off::Nothing,
        Some("synth") => Off::Synthesis,
        _ => Off::All,
    }
}

/// The cache directory: `$TRACKER_CDK_CACHE_DIR`, else `tracker-cdk/synth` in the user's cache
/// directory (beside the bridge's `cdk-from-rust`).
pub fn default_dir() -> PathBuf {
    match std::env::var_os(DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cdk_from_rust::runner::cache_dir()
            .with_file_name("tracker-cdk")
            .join("synth"),
    }
}

/// A directory of assemblies, one per key.
#[derive(Debug, Clone)]
pub struct SynthCache {
    pub dir: PathBuf,
    pub max_entries: usize,
}

/// Whether an entry of an output directory belongs to the assembly (the CDK CLI's lock files do
/// not).
fn is_assembly_entry(name: &str) -> bool {
    !name.ends_with(".lock")
}

impl SynthCache {
    pub fn new(dir: PathBuf) -> SynthCache {
        SynthCache {
            dir,
            max_entries: MAX_ENTRIES,
        }
    }

    /// Replaces the assembly in `outdir` with the one stored under `key`; `Ok(false)` when there
    /// is none.
    pub fn restore(&self, key: &str, outdir: &Path) -> std::io::Result<bool> {
        let entry = self.dir.join(key);
        if !entry.join("manifest.json").is_file() {
            return Ok(false);
        }
        cdk_from_rust::runner::remove_assembly(outdir);
        let _ = std::fs::remove_file(outdir.join("validation-report.json"));
        std::fs::create_dir_all(outdir)?;
        copy_tree(&entry, outdir)?;
        // Most recently used: eviction goes by the entry's modification time.
        let _ = std::fs::File::open(&entry).and_then(|f| f.set_modified(SystemTime::now()));
        Ok(true)
    }

    /// Stores the assembly in `outdir` under `key` (written aside, then renamed: a concurrent
    /// run never sees half an entry), then evicts the least recently used entries past the bound.
    pub fn store(&self, key: &str, outdir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let staging = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempdir_in(&self.dir)?;
        copy_tree(outdir, staging.path())?;
        let entry = self.dir.join(key);
        if entry.exists() {
            std::fs::remove_dir_all(&entry)?;
        }
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &entry) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
        self.evict()
    }

    fn evict(&self) -> std::io::Result<()> {
        let mut entries: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)?
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        entries.sort();
        let excess = entries.len().saturating_sub(self.max_entries);
        for (_, path) in entries.into_iter().take(excess) {
            std::fs::remove_dir_all(path)?;
        }
        Ok(())
    }
}

/// Copies the assembly entries of `from` into `to` (directories recursively).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if !is_assembly_entry(&name.to_string_lossy()) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_project_is_where_node_resolves_aws_cdk_lib_even_without_package_json() {
        // A node_modules without package.json beside it (an interrupted install, a copied tree):
        // its aws-cdk-lib is what the shim loads, so its files must key the cache.
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("node_modules").join("aws-cdk-lib");
        std::fs::create_dir_all(&lib).unwrap();
        let below = dir.path().join("app").join("src");
        std::fs::create_dir_all(&below).unwrap();
        assert_eq!(project_dir(&below).as_deref(), Some(dir.path()));
        // A package.json nearer than the installed aws-cdk-lib does not hide it from Node.
        std::fs::write(dir.path().join("app").join("package.json"), "{}").unwrap();
        assert_eq!(project_dir(&below).as_deref(), Some(dir.path()));
        // Without any aws-cdk-lib, the nearest project files still count.
        std::fs::remove_dir_all(dir.path().join("node_modules")).unwrap();
        assert_eq!(
            project_dir(&below).as_deref(),
            Some(dir.path().join("app").as_path())
        );
    }
    use super::*;

    /// A project directory with a lock file and the three packages.
    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        std::fs::write(dir.path().join("package-lock.json"), "{\"lock\":1}").unwrap();
        for package in PACKAGES {
            let p = dir.path().join("node_modules").join(package);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("package.json"), "{\"version\":\"1.0.0\"}").unwrap();
        }
        dir
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_kind_of_input_changes_the_key() {
        let fixture = project();
        let dir = fixture.path();
        let base_env = env(&[
            ("CDK_CONTEXT_JSON", "{\"a\":1}"),
            ("AWS_REGION", "eu-west-1"),
            ("HOME", "/root"),
        ]);
        let key = |program: &str, shim_env: &[(String, String)], env: &[(String, String)]| {
            Inputs::from_parts(program, shim_env, env, Some(dir)).key()
        };
        let base = key("{}", &[], &base_env);
        assert_eq!(base, key("{}", &[], &base_env), "the key is stable");
        assert_eq!(base.len(), 64);

        let mut changed = Vec::new();
        changed.push(("program", key("{\"x\":1}", &[], &base_env)));
        changed.push((
            "shim env (context without the CLI)",
            key("{}", &env(&[("CDK_CONTEXT_JSON", "{}")]), &base_env),
        ));
        for (name, k, v) in [
            ("context", "CDK_CONTEXT_JSON", "{\"a\":2}"),
            ("AWS variable", "AWS_REGION", "us-east-1"),
            ("new CDK variable", "CDK_VALIDATION", "false"),
            (
                "new AWS variable",
                "AWS_ENDPOINT_URL",
                "http://localhost:5000",
            ),
        ] {
            let mut e = base_env.clone();
            e.retain(|(key, _)| key != k);
            e.push((k.to_string(), v.to_string()));
            changed.push((name, key("{}", &[], &e)));
        }
        // The overflow file's contents, not only its name.
        let overflow = dir.join("context.json");
        std::fs::write(&overflow, "{\"a\":1}").unwrap();
        let mut e = base_env.clone();
        e.push((
            "CONTEXT_OVERFLOW_LOCATION_ENV".into(),
            overflow.display().to_string(),
        ));
        let with_file = key("{}", &[], &e);
        std::fs::write(&overflow, "{\"a\":2}").unwrap();
        changed.push(("context file", key("{}", &[], &e)));
        changed.push(("context file present", with_file));
        // A shim of its own.
        let shim = dir.join("replay.js");
        std::fs::write(&shim, "// shim").unwrap();
        let mut e = base_env.clone();
        e.push(("CDK_FROM_RUST_SHIM".into(), shim.display().to_string()));
        changed.push(("shim", key("{}", &[], &e)));
        // The lock file and each package's installed version.
        std::fs::write(dir.join("package-lock.json"), "{\"lock\":2}").unwrap();
        changed.push(("package-lock.json", key("{}", &[], &base_env)));
        for package in PACKAGES {
            std::fs::write(
                dir.join("node_modules").join(package).join("package.json"),
                "{\"version\":\"2.0.0\"}",
            )
            .unwrap();
            changed.push((package, key("{}", &[], &base_env)));
        }
        // The same files in another project directory.
        let other = project();
        changed.push((
            "project directory",
            Inputs::from_parts("{}", &[], &base_env, Some(other.path())).key(),
        ));
        let mut seen = std::collections::BTreeSet::from([base.clone()]);
        for (what, k) in &changed {
            assert!(
                seen.insert(k.clone()),
                "changing the {what} left a known key"
            );
        }

        // What the CLI changes between runs of the same app does not count.
        let mut e = base_env.clone();
        e.push(("CDK_OUTDIR".into(), "/tmp/elsewhere".into()));
        e.push(("PATH".into(), "/usr/bin".into()));
        let unchanged = Inputs::from_parts("{}", &[], &e, Some(dir)).key();
        assert_eq!(unchanged, key("{}", &[], &base_env));
    }

    #[test]
    fn tracker_cdk_no_cache_turns_off_both_caches_or_the_synthesis_cache() {
        assert_eq!(off_by_value(None), Off::Nothing);
        assert_eq!(off_by_value(Some("")), Off::Nothing);
        assert_eq!(off_by_value(Some("0")), Off::Nothing);
        assert_eq!(off_by_value(Some("synth")), Off::Synthesis);
        assert_eq!(off_by_value(Some("1")), Off::All);
        assert_eq!(off_by_value(Some("yes")), Off::All);
    }

    #[test]
    fn a_restored_assembly_is_byte_identical_and_the_cache_is_bounded() {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("manifest.json"), "{\"m\":1}").unwrap();
        std::fs::write(out.path().join("A.template.json"), "{\"t\":1}").unwrap();
        std::fs::create_dir(out.path().join("asset.abc")).unwrap();
        std::fs::write(out.path().join("asset.abc").join("index.js"), "x").unwrap();
        std::fs::write(out.path().join("synth.lock"), "").unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = SynthCache {
            dir: cache_dir.path().join("synth"),
            max_entries: 2,
        };
        assert!(!cache.restore("k1", out.path()).unwrap(), "empty cache");
        cache.store("k1", out.path()).unwrap();
        assert!(!cache.dir.join("k1").join("synth.lock").exists());

        let restored = tempfile::tempdir().unwrap();
        std::fs::write(restored.path().join("Stale.template.json"), "old").unwrap();
        std::fs::write(restored.path().join("read.1.lock"), "").unwrap();
        assert!(cache.restore("k1", restored.path()).unwrap());
        for file in ["manifest.json", "A.template.json", "asset.abc/index.js"] {
            assert_eq!(
                std::fs::read(out.path().join(file)).unwrap(),
                std::fs::read(restored.path().join(file)).unwrap(),
                "{file}"
            );
        }
        assert!(!restored.path().join("Stale.template.json").exists());
        assert!(
            restored.path().join("read.1.lock").exists(),
            "CLI locks stay"
        );

        // Two entries at most: the least recently used goes.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::open(cache.dir.join("k1"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        cache.store("k2", out.path()).unwrap();
        cache.store("k3", out.path()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&cache.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["k2", "k3"]);
    }
}
