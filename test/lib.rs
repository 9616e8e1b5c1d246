//! Shared helpers for the end-to-end tests of the bridge: synthesize a recorded Program, or the
//! JavaScript mirror of the sample, into a fresh directory, and read the templates back.
//!
//! A required prop left out is a compile error, not a JavaScript `TypeError` at synthesis:
//!
//! ```compile_fail
//! use cdk_from_rust::aws_cdk_lib::aws_ecs::{
//!     Cluster, FargateServiceProps, FargateServicePropsRequired,
//! };
//! cdk_from_rust::record(|| {
//!     let app = cdk_from_rust::aws_cdk_lib::App::new();
//!     let stack = cdk_from_rust::aws_cdk_lib::Stack::new(&app, "S");
//!     let cluster = Cluster::new(&stack, "C");
//!     // taskDefinition is required: E0063, missing field `task_definition`
//!     let _ = FargateServiceProps::new(FargateServicePropsRequired { cluster: &cluster });
//! });
//! ```
//!
//! The same code with the required prop compiles (so the failure above is the missing prop):
//!
//! ```no_run
//! use cdk_from_rust::aws_cdk_lib::aws_ecs::{
//!     Cluster, FargateServiceProps, FargateServicePropsRequired, FargateTaskDefinition,
//! };
//! cdk_from_rust::record(|| {
//!     let app = cdk_from_rust::aws_cdk_lib::App::new();
//!     let stack = cdk_from_rust::aws_cdk_lib::Stack::new(&app, "S");
//!     let cluster = Cluster::new(&stack, "C");
//!     let task = FargateTaskDefinition::new(&stack, "T");
//!     let _ = FargateServiceProps::new(FargateServicePropsRequired {
//!         cluster: &cluster,
//!         task_definition: &task,
//!     });
//! });
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cdk_from_rust::program::Program;
use cdk_from_rust::runner::{RunError, Runner, Synthesized};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Synthesizes `program` into `outdir` through the shim.
pub fn synth_program(program: &Program, outdir: &Path) -> Result<Synthesized, RunError> {
    let runner = Runner {
        outdir: outdir.to_path_buf(),
        ..Runner::default()
    };
    runner.run(program)
}

/// Runs a JavaScript CDK app (`node <script>`) with `CDK_OUTDIR=outdir`.
pub fn synth_js(script: &Path, outdir: &Path) {
    let status = std::process::Command::new("node")
        .arg(script)
        .env("CDK_OUTDIR", outdir)
        .current_dir(repo_root())
        .status()
        .expect("node runs");
    assert!(status.success(), "node {} failed", script.display());
}

/// Every `*.template.json` in `outdir`, by file name, as raw bytes.
pub fn templates(outdir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(outdir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            name.ends_with(".template.json")
                .then(|| (name, std::fs::read(e.path()).unwrap()))
        })
        .collect()
}

/// A template parsed as JSON.
pub fn template_json(outdir: &Path, stack: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(outdir.join(format!("{stack}.template.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}
