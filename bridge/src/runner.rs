//! The runner: hands a [`Program`] to the Node shim and turns its answer into typed results.
//!
//! The shim (`bridge/shim/replay.js`, embedded in this crate) reads the Program on stdin, replays
//! it against aws-cdk-lib, synthesizes, and writes its result, one JSON document of any size, to
//! the file named by `CDK_FROM_RUST_RESULT`. What the shim and aws-cdk-lib print (warnings, their
//! own reports) goes straight to this process's stderr, on success and on failure. The CDK CLI's
//! app environment (`CDK_OUTDIR`, `CDK_CONTEXT_JSON`, `CDK_DEFAULT_*`, ...) passes straight
//! through. npm packages are resolved from the working directory (the CDK app's project, where
//! the CLI runs the app) and its parents, or from `$CDK_FROM_RUST_NODE_PATH`.
//!
//! aws-cdk-lib's CloudFormation template validation runs per stack template, in worker threads
//! (`CDK_FROM_RUST_VALIDATION_JOBS`, default the cores, at most 4; `1`: in the shim's main
//! thread), and a template whose bytes and validator inputs did not change keeps its earlier
//! result from [`Runner::validation_cache`]; [`Synthesized::validation`] says which stacks were
//! validated.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::program::{Program, Site};

/// The shim's source, embedded at compile time: a built binary needs no checkout of this crate.
pub const SHIM_SOURCE: &str = include_str!("../shim/replay.js");

/// Where the shim and Node are, and where the assembly goes.
#[derive(Clone, Debug)]
pub struct Runner {
    /// The `node` executable. Default: `$CDK_FROM_RUST_NODE`, else `node` on the `PATH`.
    /// (A string, not a path: duct would run a relative `Path` from the current directory.)
    pub node: std::ffi::OsString,
    /// The shim script. Default: `$CDK_FROM_RUST_SHIM`, else `None`: the shim embedded in this
    /// crate ([`SHIM_SOURCE`]), written once per content to the cache directory
    /// (see [`embedded_shim`]).
    pub shim: Option<PathBuf>,
    /// The cloud assembly directory. Default: `$CDK_OUTDIR` (set by the CDK CLI), else `cdk.out`.
    pub outdir: PathBuf,
    /// Extra environment for the shim (on top of this process's environment).
    pub env: Vec<(String, String)>,
    /// Where the shim keeps each stack template's validation result
    /// (`CDK_FROM_RUST_VALIDATION_CACHE`); `None`: validate every template anew. Default:
    /// [`validation_cache_dir`], or `None` when `$CDK_FROM_RUST_NO_VALIDATION_CACHE` is set to
    /// anything but empty or `0`.
    pub validation_cache: Option<PathBuf>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner {
            node: std::env::var_os("CDK_FROM_RUST_NODE").unwrap_or_else(|| "node".into()),
            shim: std::env::var_os("CDK_FROM_RUST_SHIM").map(PathBuf::from),
            outdir: std::env::var_os("CDK_OUTDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "cdk.out".into()),
            env: Vec::new(),
            validation_cache: (!validation_cache_disabled_by_env()).then(validation_cache_dir),
        }
    }
}

/// Turns the validation cache off (for every [`Runner::default`]) when set to anything but empty
/// or `0`.
pub const NO_VALIDATION_CACHE_ENV: &str = "CDK_FROM_RUST_NO_VALIDATION_CACHE";
/// The validation cache directory the shim uses, instead of the default.
pub const VALIDATION_CACHE_ENV: &str = "CDK_FROM_RUST_VALIDATION_CACHE";

fn validation_cache_disabled_by_env() -> bool {
    env_switch_on(std::env::var(NO_VALIDATION_CACHE_ENV).ok().as_deref())
}

/// Whether the value of an on/off environment variable (`CDK_FROM_RUST_NO_VALIDATION_CACHE`, and
/// programs' own, such as tracker-cdk's `TRACKER_CDK_NO_CACHE`) turns it on: set to anything but
/// empty or `0`.
pub fn env_switch_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The validation cache: `$CDK_FROM_RUST_VALIDATION_CACHE`, else `validation` in [`cache_dir`].
/// Small files (a result per stack template and validator inputs, and per program which results
/// its last run used), at most 256, the least recently used evicted; deleting the directory
/// clears it.
pub fn validation_cache_dir() -> PathBuf {
    match std::env::var_os(VALIDATION_CACHE_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cache_dir().join("validation"),
    }
}

/// The directory the embedded shim is written to: `$XDG_CACHE_HOME/cdk-from-rust`, else
/// `$HOME/.cache/cdk-from-rust`, else `cdk-from-rust` in the temporary directory.
pub fn cache_dir() -> PathBuf {
    let non_empty = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("cdk-from-rust")
}

/// Writes the embedded shim to `<cache_dir>/shim-<content hash>/replay.js`, unless it is already
/// there with the same content, and returns its path. Falls back to the temporary directory when
/// the cache directory is not writable.
pub fn embedded_shim() -> Result<PathBuf, RunError> {
    let name = format!("shim-{:016x}", fnv1a(SHIM_SOURCE.as_bytes()));
    let first = cache_dir().join(&name);
    write_shim(&first).or_else(|error| {
        write_shim(&std::env::temp_dir().join("cdk-from-rust").join(&name))
            .map_err(|_| RunError::ShimCache { dir: first, error })
    })
}

fn write_shim(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("replay.js");
    if std::fs::read(&path).is_ok_and(|b| b == SHIM_SOURCE.as_bytes()) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    // Write aside and rename: concurrent runs never see a half-written shim.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!("replay.js.{}.{nanos}.tmp", std::process::id()));
    std::fs::write(&tmp, SHIM_SOURCE)?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(path)
}

/// FNV-1a, 64 bits: a content key that is the same in every build and on every platform.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a successful synthesis produced.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Synthesized {
    pub synthesized: Vec<SynthesizedApp>,
    /// What aws-cdk-lib's CloudFormation validator did, when it ran (`None`: it was off, or this
    /// aws-cdk-lib validated in its own serial way).
    #[serde(default)]
    pub validation: Option<Validation>,
}

/// The CloudFormation template validation of a synthesis, per stack (stack construct paths, in
/// the order aws-cdk-lib validates them).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Validation {
    /// The stacks whose templates were validated in this run.
    pub validated: Vec<String>,
    /// The stacks whose unchanged templates kept their cached result.
    pub cached: Vec<String>,
    /// The threads that validated (`CDK_FROM_RUST_VALIDATION_JOBS`; 1: the shim's main thread).
    pub jobs: u32,
}

/// One synthesized App.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SynthesizedApp {
    /// The op id of the App.
    pub app: u32,
    pub outdir: String,
    /// The stack names (artifact ids) in the assembly.
    pub stacks: Vec<String>,
}

/// One problem the shim reported, mapped back to Rust.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Problem {
    pub message: String,
    /// The operation that caused it, when known.
    pub op: Option<u32>,
    /// The Rust call site that recorded that operation.
    pub site: Option<Site>,
    /// The construct path, when known.
    pub path: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.site, &self.path) {
            (Some(site), Some(path)) => write!(f, "{site} ({path}): {}", self.message),
            (Some(site), None) => write!(f, "{site}: {}", self.message),
            (None, Some(path)) => write!(f, "{path}: {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Node.js was not found (`{node}` cannot be run): install Node.js 20 or later so that `node` is on the PATH, or set CDK_FROM_RUST_NODE to the node executable")]
    NodeMissing { node: String },
    #[error("could not start the shim ({node} {shim}): {source}")]
    Spawn {
        node: String,
        shim: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the cdk-from-rust shim to {} (nor to the temporary directory): {error}; set XDG_CACHE_HOME to a writable directory", dir.display())]
    ShimCache { dir: PathBuf, error: std::io::Error },
    /// The project's `node_modules` is missing, or lacks (a working copy of) a package the
    /// Program uses. The message names the packages and says to run `npm ci`.
    #[error("node_modules cannot run this app: {message}")]
    Packages { message: String },
    /// A package the Program uses is installed in another version than the bindings were
    /// generated from ([`crate::PACKAGES`]).
    #[error("node_modules has other package versions than these bindings: {message}")]
    PackageVersions { message: String },
    #[error("the shim refused the Program: {message}{}", list(problems))]
    Refused {
        message: String,
        problems: Vec<Problem>,
    },
    #[error("aws-cdk-lib rejected an operation: {message}{}", list(problems))]
    Operation {
        message: String,
        problems: Vec<Problem>,
    },
    #[error("synthesis failed: {message}{}", list(problems))]
    Synthesis {
        message: String,
        problems: Vec<Problem>,
    },
    /// The shim ended without a usable result; what it printed is on stderr, above.
    #[error("the shim failed unexpectedly (exit {status:?}): {detail}")]
    Crashed { status: Option<i32>, detail: String },
}

impl RunError {
    /// The problems reported, each mapped to its Rust call site where known.
    pub fn problems(&self) -> &[Problem] {
        match self {
            RunError::Refused { problems, .. }
            | RunError::Operation { problems, .. }
            | RunError::Synthesis { problems, .. } => problems,
            _ => &[],
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Report {
    Ok(Synthesized),
    Failed { error: ReportError },
}

#[derive(Deserialize)]
struct ReportError {
    kind: String,
    message: String,
    #[serde(default)]
    problems: Vec<Problem>,
}

impl Runner {
    /// Replays `program` in the shim and synthesizes its Apps into [`Runner::outdir`].
    ///
    /// On failure no assembly is left behind looking valid: the manifest, templates and assets in
    /// the output directory are removed (lock files of the CDK CLI are kept).
    pub fn run(&self, program: &Program) -> Result<Synthesized, RunError> {
        let result = self.run_shim(program);
        if result.is_err() {
            remove_assembly(&self.outdir);
        }
        result
    }

    fn run_shim(&self, program: &Program) -> Result<Synthesized, RunError> {
        let shim = match &self.shim {
            Some(shim) => shim.clone(),
            None => embedded_shim()?,
        };
        let spawn_error = |source: std::io::Error| RunError::Spawn {
            node: self.node.to_string_lossy().into_owned(),
            shim: shim.display().to_string(),
            source,
        };
        // The result goes to a file, not a pipe: written synchronously by the shim, it is whole
        // at any size, and nothing a library or a child process prints can mix into it.
        let result_file = tempfile::Builder::new()
            .prefix("cdk-from-rust-result-")
            .suffix(".json")
            .tempfile()
            .map_err(spawn_error)?;
        let mut expression = duct::cmd(&self.node, [&shim])
            .stdin_bytes(program.to_json())
            .env("CDK_OUTDIR", &self.outdir)
            .env("CDK_FROM_RUST_RESULT", result_file.path())
            // Everything the shim and aws-cdk-lib print (warnings, reports) is for the user.
            .stdout_to_stderr()
            .unchecked();
        expression = match &self.validation_cache {
            Some(dir) => expression.env(VALIDATION_CACHE_ENV, dir),
            None => expression.env_remove(VALIDATION_CACHE_ENV),
        };
        for (k, v) in &self.env {
            expression = expression.env(k, v);
        }
        let output = expression.run().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                RunError::NodeMissing {
                    node: self.node.to_string_lossy().into_owned(),
                }
            } else {
                spawn_error(source)
            }
        })?;
        let status = output.status.code();
        let text = std::fs::read_to_string(result_file.path()).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(RunError::Crashed {
                status,
                detail: "it wrote no result; its messages are above".into(),
            });
        }
        let report = serde_json::from_str::<Report>(&text).map_err(|e| RunError::Crashed {
            status,
            detail: format!("its result is not readable ({e}): {}", truncate(&text, 500)),
        })?;
        match report {
            Report::Ok(done) if output.status.success() => Ok(done),
            Report::Ok(_) => Err(RunError::Crashed {
                status,
                detail: "it reported success but exited with an error".into(),
            }),
            Report::Failed { error } => {
                let ReportError {
                    kind,
                    message,
                    problems,
                } = error;
                Err(match kind.as_str() {
                    "unsupported-version" | "malformed" => RunError::Refused { message, problems },
                    "missing-packages" => RunError::Packages { message },
                    "package-versions" => RunError::PackageVersions { message },
                    "operation" => RunError::Operation { message, problems },
                    "internal" => RunError::Crashed {
                        status,
                        detail: message,
                    },
                    _ => RunError::Synthesis { message, problems },
                })
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Removes what a synthesis writes into `outdir` (manifest, tree, templates, assets, nested
/// assemblies), keeping anything else, such as the CDK CLI's lock files.
pub fn remove_assembly(outdir: &Path) {
    let Ok(entries) = std::fs::read_dir(outdir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let assembly_file = name == "manifest.json"
            || name == "tree.json"
            || name == "cdk.out"
            || name.ends_with(".template.json")
            || name.ends_with(".assets.json")
            || name.ends_with(".metadata.json")
            || name.starts_with("asset.")
            || name.starts_with("assembly-");
        if assembly_file {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_assembly_keeps_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "manifest.json",
            "Sample.template.json",
            "tree.json",
            "synth.lock",
            "cdk.out",
        ] {
            std::fs::write(dir.path().join(f), "{}").unwrap();
        }
        std::fs::create_dir(dir.path().join("asset.abc")).unwrap();
        remove_assembly(dir.path());
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec!["synth.lock"]);
    }

    #[test]
    fn a_missing_node_says_to_install_node() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner {
            node: "/nonexistent/node".into(),
            outdir: dir.path().into(),
            ..Runner::default()
        };
        let err = runner.run(&Program::new()).unwrap_err();
        assert!(matches!(err, RunError::NodeMissing { .. }), "{err}");
        assert!(err.to_string().contains("install Node.js"), "{err}");
        assert!(err.to_string().contains("CDK_FROM_RUST_NODE"), "{err}");
    }

    #[test]
    fn the_embedded_shim_is_written_once_per_content_and_repaired() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache
            .path()
            .join(format!("shim-{:016x}", fnv1a(SHIM_SOURCE.as_bytes())));
        let path = write_shim(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), SHIM_SOURCE);
        assert_eq!(write_shim(&dir).unwrap(), path, "same content, same place");
        std::fs::write(&path, "truncated").unwrap();
        write_shim(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), SHIM_SOURCE);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary files are left behind");
        // The key is stable: FNV-1a of the empty input is its offset basis.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
