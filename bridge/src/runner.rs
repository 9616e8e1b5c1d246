//! The runner: hands a [`Program`] to the Node shim and turns its answer into typed results.
//!
//! The shim (`bridge/shim/replay.js`) reads the Program on stdin, replays it against aws-cdk-lib,
//! synthesizes, and writes one JSON line to stdout describing the outcome. The CDK CLI's app
//! environment (`CDK_OUTDIR`, `CDK_CONTEXT_JSON`, `CDK_DEFAULT_*`, ...) passes straight through.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::program::{Program, Site};

/// Where the shim and Node are, and where the assembly goes.
#[derive(Clone, Debug)]
pub struct Runner {
    /// The `node` executable. Default: `$CDK_FROM_RUST_NODE`, else `node` on the `PATH`.
    /// (A string, not a path: duct would run a relative `Path` from the current directory.)
    pub node: std::ffi::OsString,
    /// The shim script. Default: `$CDK_FROM_RUST_SHIM`, else `bridge/shim/replay.js` of this crate.
    pub shim: PathBuf,
    /// The cloud assembly directory. Default: `$CDK_OUTDIR` (set by the CDK CLI), else `cdk.out`.
    pub outdir: PathBuf,
    /// Extra environment for the shim (on top of this process's environment).
    pub env: Vec<(String, String)>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner {
            node: std::env::var_os("CDK_FROM_RUST_NODE").unwrap_or_else(|| "node".into()),
            shim: std::env::var_os("CDK_FROM_RUST_SHIM")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("shim")
                        .join("replay.js")
                }),
            outdir: std::env::var_os("CDK_OUTDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "cdk.out".into()),
            env: Vec::new(),
        }
    }
}

/// What a successful synthesis produced.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Synthesized {
    pub synthesized: Vec<SynthesizedApp>,
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
    #[error("could not start the shim ({node} {shim}): {source}; is Node.js installed and `npm ci` done?")]
    Spawn {
        node: String,
        shim: String,
        #[source]
        source: std::io::Error,
    },
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
    #[error("the shim failed unexpectedly (exit {status:?}): {stderr}")]
    Crashed { status: Option<i32>, stderr: String },
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
        let mut expression = duct::cmd(&self.node, [&self.shim])
            .stdin_bytes(program.to_json())
            .env("CDK_OUTDIR", &self.outdir)
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        for (k, v) in &self.env {
            expression = expression.env(k, v);
        }
        let output = expression.run().map_err(|source| RunError::Spawn {
            node: self.node.to_string_lossy().into_owned(),
            shim: self.shim.display().to_string(),
            source,
        })?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str::<Report>(l).ok());
        match report {
            Some(Report::Ok(done)) if output.status.success() => {
                // aws-cdk-lib's warnings (deprecations, notices) are for the user.
                if !stderr.trim().is_empty() {
                    eprint!("{stderr}");
                }
                Ok(done)
            }
            Some(Report::Failed { error }) => {
                let ReportError {
                    kind,
                    message,
                    problems,
                } = error;
                Err(match kind.as_str() {
                    "unsupported-version" | "malformed" => RunError::Refused { message, problems },
                    "operation" => RunError::Operation { message, problems },
                    _ => RunError::Synthesis { message, problems },
                })
            }
            _ => Err(RunError::Crashed {
                status: output.status.code(),
                stderr,
            }),
        }
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
    fn a_missing_node_is_a_spawn_error() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner {
            node: "/nonexistent/node".into(),
            outdir: dir.path().into(),
            ..Runner::default()
        };
        let err = runner.run(&Program::new()).unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }), "{err}");
        assert!(err.to_string().contains("npm ci"));
    }
}
