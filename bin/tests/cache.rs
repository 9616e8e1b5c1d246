//! The synthesis cache as `synth` uses it: a second run with unchanged inputs restores the first
//! run's assembly, byte for byte what a fresh synthesis writes; a changed input, `--no-cache` and
//! `TRACKER_CDK_NO_CACHE=1` synthesize anew. (Which inputs make the key: the unit tests of
//! `src/cache.rs`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cdk_from_rust::aws_cdk_lib::aws_sqs::Queue;
use cdk_from_rust::aws_cdk_lib::{App, Stack};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Every file under `dir` (relative path -> bytes), the CLI's lock files aside.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().ends_with(".lock") {
                let bytes = std::fs::read(&path).unwrap();
                all.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    all
}

#[test]
fn unchanged_inputs_restore_a_byte_identical_assembly_and_changed_ones_synthesize() {
    let (program, _) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "Cached");
        Queue::new(stack, "Queue");
        cdk_from_rust::synthesize(&app);
    });
    let work = tempfile::tempdir().unwrap();
    let program_file = work.path().join("program.json");
    std::fs::write(&program_file, program.to_json()).unwrap();
    let cache = work.path().join("cache");
    let shim_cache = work.path().join("xdg");
    let run = |name: &str, args: &[&str], env: &[(&str, &str)]| -> (String, PathBuf) {
        let out = work.path().join(name);
        let mut command = Command::new(env!("CARGO_BIN_EXE_tracker-cdk"));
        command
            .args(["synth", "--program"])
            .arg(&program_file)
            .arg("--out")
            .arg(&out)
            .args(args)
            .current_dir(repo_root())
            .env("TRACKER_CDK_CACHE_DIR", &cache)
            .env("XDG_CACHE_HOME", &shim_cache)
            .env_remove("TRACKER_CDK_NO_CACHE")
            .env_remove("CDK_CONTEXT_JSON")
            .env_remove("CDK_OUTDIR")
            .env_remove("CDK_DEFAULT_REGION");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{name}: {stderr}");
        (stderr, out)
    };
    let restored = |stderr: &str| stderr.contains("restored the assembly");

    let (first, fresh) = run("first", &[], &[]);
    assert!(!restored(&first), "{first}");
    let (second, again) = run("second", &[], &[]);
    assert!(restored(&second), "{second}");
    let expected = files(&fresh);
    assert!(expected.contains_key(Path::new("Cached.template.json")));
    assert!(expected == files(&again), "the restored assembly differs");

    // Off by flag and by variable: synthesized anew, and byte-identical to the restored one.
    let (no_cache, uncached) = run("no-cache", &["--no-cache"], &[]);
    assert!(!restored(&no_cache), "{no_cache}");
    assert!(expected == files(&uncached), "a fresh synthesis differs");
    let (off, _) = run("off", &[], &[("TRACKER_CDK_NO_CACHE", "1")]);
    assert!(!restored(&off), "{off}");

    // A changed input (a CDK variable) misses; the first entry is still there for its inputs.
    let (changed, _) = run("changed", &[], &[("CDK_DEFAULT_REGION", "eu-west-1")]);
    assert!(!restored(&changed), "{changed}");
    let (back, _) = run("back", &[], &[]);
    assert!(restored(&back), "{back}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}
