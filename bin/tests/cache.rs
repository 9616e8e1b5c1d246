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

/// `tracker-cdk` in the repository, with its caches in `cache` (synthesis) and `xdg` (the shim and
/// the validation cache), and no cache settings from the environment.
fn tracker_cdk(cache: &Path, xdg: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracker-cdk"));
    command
        .current_dir(repo_root())
        .env("TRACKER_CDK_CACHE_DIR", cache)
        .env("XDG_CACHE_HOME", xdg)
        .env_remove("TRACKER_CDK_NO_CACHE")
        .env_remove("CDK_FROM_RUST_VALIDATION_CACHE")
        .env_remove("CDK_FROM_RUST_NO_VALIDATION_CACHE")
        .env_remove("CDK_FROM_RUST_VALIDATION_JOBS")
        .env_remove("CDK_OUTDIR");
    command
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
        let mut command = tracker_cdk(&cache, &shim_cache);
        command
            .args(["synth", "--program"])
            .arg(&program_file)
            .arg("--out")
            .arg(&out)
            .args(args)
            .env_remove("CDK_CONTEXT_JSON")
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
    assert!(
        first.contains("validation: 1 stack validated (Cached), 0 from cache"),
        "{first}"
    );
    let (second, again) = run("second", &[], &[]);
    assert!(restored(&second), "{second}");
    let expected = files(&fresh);
    assert!(expected.contains_key(Path::new("Cached.template.json")));
    assert!(expected == files(&again), "the restored assembly differs");

    // Off by flag and by variable: synthesized anew, and byte-identical to the restored one.
    // Both caches: the template is validated anew too.
    let (no_cache, uncached) = run("no-cache", &["--no-cache"], &[]);
    assert!(!restored(&no_cache), "{no_cache}");
    assert!(
        no_cache.contains("validation: 1 stack validated (Cached), no cache"),
        "{no_cache}"
    );
    assert!(expected == files(&uncached), "a fresh synthesis differs");
    let (off, _) = run("off", &[], &[("TRACKER_CDK_NO_CACHE", "1")]);
    assert!(!restored(&off), "{off}");
    assert!(
        off.contains("validation: 1 stack validated (Cached), no cache"),
        "{off}"
    );
    // The synthesis cache only: replayed, but the template keeps its validation result.
    let (synth_off, replayed) = run("synth-off", &[], &[("TRACKER_CDK_NO_CACHE", "synth")]);
    assert!(!restored(&synth_off), "{synth_off}");
    assert!(
        synth_off.contains("validation: 0 stacks validated, 1 from cache"),
        "{synth_off}"
    );
    assert!(
        expected == files(&replayed),
        "a replay with a cached validation differs"
    );

    // A changed input (a CDK variable) misses; the first entry is still there for its inputs.
    let (changed, _) = run("changed", &[], &[("CDK_DEFAULT_REGION", "eu-west-1")]);
    assert!(!restored(&changed), "{changed}");
    let (back, _) = run("back", &[], &[]);
    assert!(restored(&back), "{back}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}

#[test]
fn a_changed_staging_setting_validates_only_the_staging_stack_again() {
    // The tracker app, with the context as the CDK CLI hands it over; the synthesis cache off
    // (TRACKER_CDK_NO_CACHE=synth), so every run replays and the validation cache decides.
    let work = tempfile::tempdir().unwrap();
    let cdk_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("cdk.json")).unwrap())
            .unwrap();
    let mut context = cdk_json["context"].clone();
    context["aws:cdk:enable-path-metadata"] = true.into();
    let run = |name: &str, context: &serde_json::Value, no_cache: &str| -> (String, PathBuf) {
        let out = work.path().join(name);
        let output = tracker_cdk(&work.path().join("synth"), &work.path().join("xdg"))
            .args(["synth", "--out"])
            .arg(&out)
            .env("CDK_CONTEXT_JSON", context.to_string())
            .env("TRACKER_CDK_NO_CACHE", no_cache)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{name}: {stderr}");
        (stderr, out)
    };
    let (first, _) = run("first", &context, "synth");
    assert!(
        first.contains("validation: 5 stacks validated (") && first.contains("), 0 from cache"),
        "{first}"
    );

    context["staging.imageTag"] = "v1.0.1".into();
    let (changed, incremental) = run("changed", &context, "synth");
    assert!(
        changed.contains("validation: 1 stack validated (TrackerStaging), 4 from cache"),
        "{changed}"
    );
    // Four results from the cache and one fresh one make the assembly of a run without caches.
    let (fresh, uncached) = run("fresh", &context, "1");
    assert!(
        fresh.contains("validation: 5 stacks validated (") && fresh.contains("), no cache"),
        "{fresh}"
    );
    let expected = files(&uncached);
    assert!(expected.contains_key(Path::new("validation-report.json")));
    assert!(
        expected == files(&incremental),
        "the assembly with cached validation results differs from a fresh one"
    );
}

#[test]
fn the_runner_says_which_stacks_were_validated_and_keeps_their_results_where_told() {
    let (program, _) = cdk_from_rust::record(|| {
        let app = App::new();
        for name in ["First", "Second"] {
            Queue::new(Stack::new(app, name), "Queue");
        }
        cdk_from_rust::synthesize(&app);
    });
    let work = tempfile::tempdir().unwrap();
    let validation_cache = work.path().join("validation");
    let runner = |out: &str, cache: Option<&Path>| cdk_from_rust::runner::Runner {
        outdir: work.path().join(out),
        validation_cache: cache.map(Path::to_path_buf),
        ..Default::default()
    };
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let first = runner("first", Some(&validation_cache))
        .run(&program)
        .unwrap();
    let first = first.validation.expect("the validator ran");
    assert_eq!(first.validated, names(&["First", "Second"]));
    assert!(first.cached.is_empty());
    assert!(first.jobs >= 1);
    assert!(
        validation_cache.is_dir(),
        "the results are kept where the runner said"
    );

    let again = runner("again", Some(&validation_cache))
        .run(&program)
        .unwrap();
    let again = again.validation.unwrap();
    assert!(again.validated.is_empty());
    assert_eq!(again.cached, names(&["First", "Second"]));

    let off = runner("off", None).run(&program).unwrap();
    assert_eq!(
        off.validation.unwrap().validated,
        names(&["First", "Second"])
    );
}
