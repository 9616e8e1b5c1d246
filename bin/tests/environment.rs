//! `tracker-cdk synth` as a user meets it: the built binary run from any directory of a project
//! (the shim is embedded, packages come from the project's node_modules), reports of any size
//! through pipes, aws-cdk-lib's own messages shown, and one clear message with its own exit code
//! for each broken environment (no Node.js, no or incomplete node_modules, other versions).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cdk_from_rust::aws_cdk_lib::aws_ec2::{Vpc, VpcProps};
use cdk_from_rust::aws_cdk_lib::aws_sqs::Queue;
use cdk_from_rust::aws_cdk_lib::{Annotations, App, Stack};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::program::Program;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// aws-cdk-lib prints this to stderr for the deprecated `VpcProps.cidr`.
const DEPRECATION: &str = "[WARNING] aws-cdk-lib.aws_ec2.VpcProps#cidr is deprecated";

/// An App with one stack holding a VPC configured through a deprecated prop, plus `more`.
fn program_with(more: impl FnOnce(Stack)) -> Program {
    cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "Env");
        Vpc::new_with(stack, "Vpc", VpcProps::new().cidr("10.0.0.0/16"));
        more(stack);
        cdk_from_rust::synthesize(&app);
    })
    .0
}

/// Runs `binary synth --program <file>` in `cwd` with stdout and stderr piped, the embedded shim
/// cached under `cache`, and none of the shim overrides of the calling environment.
fn synth_in(
    binary: &Path,
    cwd: &Path,
    program: &Program,
    cache: &Path,
    env: &[(&str, &str)],
) -> (Output, PathBuf) {
    let work = tempfile::tempdir().unwrap().keep();
    let file = work.join("program.json");
    std::fs::write(&file, program.to_json()).unwrap();
    let out = work.join("cdk.out");
    let mut command = Command::new(binary);
    command
        .args(["synth", "--program"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", cache);
    for var in [
        "CDK_FROM_RUST_SHIM",
        "CDK_FROM_RUST_NODE",
        "CDK_FROM_RUST_NODE_PATH",
        "CDK_OUTDIR",
        "CDK_CONTEXT_JSON",
    ] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    (command.output().unwrap(), out)
}

fn synth(cwd: &Path, program: &Program, env: &[(&str, &str)]) -> (Output, String) {
    let cache = tempfile::tempdir().unwrap();
    let (output, _) = synth_in(
        Path::new(env!("CARGO_BIN_EXE_tracker-cdk")),
        cwd,
        program,
        cache.path(),
        env,
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

#[test]
fn a_copied_binary_synthesizes_from_a_subdirectory_of_another_project() {
    // A project elsewhere: its own directory, node_modules from `npm ci` (here: linked), and the
    // binary copied out of the build tree, run from a subdirectory.
    let project = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        repo_root().join("node_modules"),
        project.path().join("node_modules"),
    )
    .unwrap();
    let sub = project.path().join("infra").join("src");
    std::fs::create_dir_all(&sub).unwrap();
    let binary = project.path().join("tracker-cdk");
    std::fs::copy(env!("CARGO_BIN_EXE_tracker-cdk"), &binary).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let (output, out) = synth_in(&binary, &sub, &program_with(|_| {}), cache.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(out.join("Env.template.json").exists(), "{stderr}");
    // aws-cdk-lib's own warnings reach the user on success.
    assert!(stderr.contains(DEPRECATION), "{stderr}");
    // The shim came out of the binary, into the cache directory, keyed by its content (beside
    // it: the validation cache, `validation/`).
    let shims: Vec<PathBuf> = std::fs::read_dir(cache.path().join("cdk-from-rust"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("shim-")
        })
        .map(|p| p.join("replay.js"))
        .collect();
    assert_eq!(shims.len(), 1, "{shims:?}");
    assert_eq!(
        std::fs::read_to_string(&shims[0]).unwrap(),
        cdk_from_rust::runner::SHIM_SOURCE
    );
}

#[test]
fn a_several_mb_report_through_pipes_names_every_construct_and_its_rust_site_and_exits_1() {
    const ERRORS: usize = 1500;
    let padding = "x".repeat(2000);
    let mut line = 0;
    let program = program_with(|stack| {
        for i in 0..ERRORS {
            line = line!() + 1;
            let part = Construct::new(stack, format!("Part{i}"));
            Annotations::of(part).add_error(format!("problem {i}: {padding}"));
        }
    });
    let (output, stderr) = synth(repo_root(), &program, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        &stderr[..stderr.len().min(3000)]
    );
    assert!(
        stderr.len() > 3_000_000,
        "the report is several MB: {} bytes",
        stderr.len()
    );
    let site = format!("bin/tests/environment.rs:{line}:");
    for i in 0..ERRORS {
        let at = stderr
            .find(&format!("(Env/Part{i}): problem {i}: "))
            .unwrap_or_else(|| panic!("problem {i} is missing from the report"));
        let line_start = stderr[..at].rfind('\n').unwrap();
        assert!(
            stderr[line_start..at].contains(&site),
            "problem {i} names its Rust call site: {}",
            &stderr[line_start..at]
        );
    }
    assert!(stderr.contains("synthesis failed"), "{}", &stderr[..3000]);
    // aws-cdk-lib's own warnings reach the user on failure too.
    assert!(stderr.contains(DEPRECATION), "{}", &stderr[..3000]);
    assert!(output.stdout.is_empty(), "stdout stays free");
}

#[test]
fn without_node_modules_one_message_says_npm_ci_and_exits_7() {
    let empty = tempfile::tempdir().unwrap();
    let program = program_with(|stack| {
        for i in 0..300 {
            Queue::new(stack, format!("Queue{i}"));
        }
    });
    let (output, stderr) = synth(empty.path(), &program, &[]);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("npm ci"), "{stderr}");
    assert!(stderr.contains("aws-cdk-lib is not installed"), "{stderr}");
    assert!(stderr.contains("aws-cdk-lib@2.276.0"), "{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one message, not one per operation:\n{stderr}"
    );
}

#[test]
fn an_incomplete_node_modules_names_what_is_missing_and_exits_7() {
    // aws-cdk-lib is installed, but not what it needs (as after an interrupted install).
    let project = fake_project("2.276.0", "require('constructs');");
    let (output, stderr) = synth(project.path(), &program_with(|_| {}), &[]);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("aws-cdk-lib") && stderr.contains("is incomplete"),
        "{stderr}"
    );
    assert!(stderr.contains("'constructs'"), "{stderr}");
    assert!(stderr.contains("npm ci"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn another_aws_cdk_lib_version_names_both_versions_and_exits_8() {
    let project = fake_project("2.100.0", "module.exports = {};");
    let (output, stderr) = synth(project.path(), &program_with(|_| {}), &[]);
    assert_eq!(output.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("aws-cdk-lib 2.100.0 is installed"),
        "{stderr}"
    );
    assert!(stderr.contains("generated from 2.276.0"), "{stderr}");
    assert!(
        stderr.contains("npm install --save-exact aws-cdk-lib@2.276.0"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn without_node_one_message_says_to_install_it_and_exits_6() {
    let (output, stderr) = synth(
        repo_root(),
        &program_with(|_| {}),
        &[("CDK_FROM_RUST_NODE", "/nonexistent/bin/node")],
    );
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("install Node.js"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn help_documents_the_exit_codes() {
    let output = Command::new(env!("CARGO_BIN_EXE_tracker-cdk"))
        .args(["synth", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for code in [
        "   1  the infrastructure",
        "   3  the toolchain",
        "   6  Node.js",
        "   7  node_modules",
        "   8  node_modules",
    ] {
        assert!(help.contains(code), "{help}");
    }
}

/// A project whose node_modules holds a stand-in aws-cdk-lib of `version` whose main is `main`.
fn fake_project(version: &str, main: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let package = project.path().join("node_modules").join("aws-cdk-lib");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("package.json"),
        format!(r#"{{"name": "aws-cdk-lib", "version": "{version}", "main": "index.js"}}"#),
    )
    .unwrap();
    std::fs::write(package.join("index.js"), main).unwrap();
    project
}
