//! The deploy loop against an AWS emulator: the real CDK CLI bootstraps, deploys, updates and
//! destroys the real staging stacks (synthesized through cdk.json's `app`) on moto's server mode:
//! `cdk deploy TrackerStaging` deploys its dependency `TrackerStagingData` first (the services
//! stack imports the data stack's exports), the data stack gets its stack policy
//! (`tracker-cdk stack-policy`, SetStackPolicy), and destruction goes the other way, the data
//! stack's retained resources surviving. All on moto's server mode,
//! started on loopback by this test and always stopped (a guard kills its process group); `cdk
//! diff` shows the update before it is deployed. Two
//! change sets prepared by the CLI (`--method=prepare-change-set`) are reviewed online by
//! `tracker-cdk review --change-set` (a safe image update, exit 0; a widened allow-list, exit 11).
//! Then production: `cdk deploy TrackerProduction` deploys `TrackerProductionData` (three
//! Patroni hosts at fixed IPs behind an internal NLB, ElastiCache, EFS) and the services stack
//! (alarms, dashboard, WAF association, static sites); both are read back and compared with their
//! templates (including the NLB's type, TCP listener and targets, the hosts' IPs and security
//! groups, the ElastiCache group's encryption); `tracker-cdk release TrackerProduction` then
//! releases a new tag (migration task definition first, the migration run with the stack's
//! network configuration and waited for, then the services) and a tag whose migration fails
//! (exit 20, services untouched); both stacks are destroyed in reverse, retained resources
//! surviving and snapshotted ones (EBS volumes, the ElastiCache group) leaving a snapshot.
//!
//! moto cannot run a container. The one step of a release driven through the emulator's API
//! instead is the migration container's own part: `test/moto/migration.py` holds moto's tasks in
//! RUNNING, writes the container's log lines to its stream and stops the task with StopTask,
//! whose reason carries the exit code (a harness patch in gaps.py records it; moto reports 0
//! otherwise). Everything the release does (two `cdk deploy`s, DescribeStacks, RunTask,
//! DescribeTasks until STOPPED, GetLogEvents) is its real code against the emulator.
//!
//! moto 5.2.5 lacks CloudFormation models for several types the stack uses and has bugs it hits;
//! `test/moto/tracker_moto/gaps.py` fills them (each named there) before serving. Nothing here
//! edits the template: what is deployed is what `cdk synth` writes.
//!
//! The run happens in a temporary directory holding a copy of cdk.json (the repository's files,
//! `cdk.out/` and `cdk.context.json` are not touched): same `app` (with `--manifest-path`), same
//! context, plus the emulator's account (moto's 123456789012), the availability zones of that
//! account (so the CLI attempts no lookup) and the certificate ARN in that account, which the
//! launcher seeds into moto's ACM as the account's owner would have created it.
//!
//! Needs the project venv with moto (`make setup`) and node_modules (`npm ci`, also `make setup`).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracker_tests::repo_root;

/// moto's default account.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const STACK: &str = "TrackerStaging";
/// The data stack `STACK` depends on.
const DATA_STACK: &str = "TrackerStagingData";
/// The production stacks: `PRODUCTION` depends on `PRODUCTION_DATA` (Patroni hosts and their
/// NLB, ElastiCache, EFS, secrets).
const PRODUCTION: &str = "TrackerProduction";
const PRODUCTION_DATA: &str = "TrackerProductionData";
const FIRST_TAG: &str = "v1.0.0";
const UPDATE_TAG: &str = "v1.0.1";
/// `tracker-cdk release` on production: a release whose migration exits 0, then one whose
/// migration exits 3.
const RELEASE_TAG: &str = "v1.1.0";
const FAILING_TAG: &str = "v1.2.0";

/// Kills a process group (the process started with `process_group(0)` and all its children).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

/// moto's server, in its own process group; killed (with everything it started) on drop, also
/// when the test panics.
struct Emulator {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl Emulator {
    fn start(python: &Path, dir: &Path, certificates: &[String]) -> Emulator {
        let log = dir.join("moto.log");
        let mut cmd = Command::new(python);
        cmd.arg(repo_root().join("test/moto/launch.py"))
            // Staging and production, under load: 900 s has been hit.
            .args(["--max-seconds", "1800"]);
        for arn in certificates {
            cmd.args(["--certificate", arn]);
        }
        let mut child = cmd
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // stdin stays open while we live: the launcher exits when it closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("moto log file"))
            .process_group(0)
            .spawn()
            .expect("start the moto launcher");
        // The launcher binds a free port itself and prints {"port": N} once it listens.
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            let _ = tx.send(line);
        });
        let mut emulator = Emulator {
            child,
            endpoint: String::new(),
            log,
        };
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let port = serde_json::from_slice::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| {
                panic!(
                    "the moto launcher did not report its port within 60 s\n{}",
                    emulator.log_tail()
                )
            });
        // moto reads path-style S3 URLs (the CLI's template uploads) only when the host is
        // `localhost`.
        emulator.endpoint = format!("http://localhost:{port}");
        emulator
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        format!(
            "--- last lines of the moto log ({}) ---\n{tail}",
            self.log.display()
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// The output of a finished subprocess.
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` in its own process group with a deadline; on timeout kills the group and panics.
fn run(cmd: &mut Command, timeout: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for a subprocess") {
            break status;
        }
        if start.elapsed() > timeout {
            kill_group(child.id());
            let _ = child.wait();
            panic!(
                "{what}: timed out after {} s\nstderr:\n{}",
                timeout.as_secs(),
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Shown with --nocapture: where the loop's time goes.
    eprintln!("{what}: {:.1} s", start.elapsed().as_secs_f64());
    Output {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The loop's working directory, emulator and environment.
struct Loop {
    dir: tempfile::TempDir,
    python: PathBuf,
    emulator: Emulator,
}

impl Loop {
    fn env(&self, cmd: &mut Command) {
        for key in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_PROFILE",
            "CDK_OUTDIR",
            "CDK_CONTEXT_JSON",
            "CDK_DEFAULT_ACCOUNT",
            "CDK_DEFAULT_REGION",
        ] {
            cmd.env_remove(key);
        }
        let missing = self.dir.path().join("no-aws-config");
        cmd.current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &self.emulator.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_CONFIG_FILE", &missing)
            .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // The app runs in the temporary directory: resolve aws-cdk-lib & co. from the
            // repository's node_modules (the shim looks from its working directory otherwise).
            .env("CDK_FROM_RUST_NODE_PATH", repo_root())
            .env("CDK_DISABLE_VERSION_CHECK", "1")
            .env("CDK_DISABLE_CLI_TELEMETRY", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
    }

    /// Runs the CDK CLI (`node_modules/.bin/cdk`) with `args` in the loop's directory (with its
    /// cdk.json); panics with its output and the emulator's log unless it succeeds.
    fn cdk(&self, args: &[&str], timeout: Duration) -> Output {
        self.cdk_in(self.dir.path(), args, timeout)
    }

    /// Like [`Loop::cdk`], in `cwd`.
    fn cdk_in(&self, cwd: &Path, args: &[&str], timeout: Duration) -> Output {
        let mut cmd = Command::new(repo_root().join("node_modules/.bin/cdk"));
        cmd.args(args).arg("--no-notices");
        self.env(&mut cmd);
        cmd.current_dir(cwd);
        let what = format!("cdk {}", args.join(" "));
        let out = run(&mut cmd, timeout, &what);
        assert_eq!(
            out.code,
            Some(0),
            "{what} failed\nstdout:\n{}\nstderr:\n{}\n{}",
            out.stdout,
            out.stderr,
            self.emulator.log_tail()
        );
        out
    }

    /// Runs a helper script of test/moto with the venv's Python; returns its JSON output.
    fn python(&self, script: &str, args: &[&str], timeout: Duration) -> Value {
        let mut cmd = Command::new(&self.python);
        cmd.arg(repo_root().join("test/moto").join(script))
            .args(args);
        self.env(&mut cmd);
        let what = format!("{script} {}", args.join(" "));
        let out = run(&mut cmd, timeout, &what);
        assert_eq!(
            out.code,
            Some(0),
            "{what} failed\nstdout:\n{}\nstderr:\n{}\n{}",
            out.stdout,
            out.stderr,
            self.emulator.log_tail()
        );
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{}", out.stdout))
    }

    /// `tracker-cdk ARGS`, built and run like cdk.json's app; panics unless it succeeds; returns
    /// its standard output.
    fn tracker_cdk(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "--quiet", "--locked", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .args(["-p", "tracker-cdk", "--"])
            .args(args);
        self.env(&mut cmd);
        let what = format!("tracker-cdk {}", args.join(" "));
        let out = run(&mut cmd, Duration::from_secs(600), &what);
        assert_eq!(
            out.code,
            Some(0),
            "{what} failed\nstdout:\n{}\nstderr:\n{}",
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    /// `tracker-cdk review STACK --change-set NAME --format json`, built and run like cdk.json's
    /// app; returns its exit code and JSON report.
    fn review(&self, change_set: &str) -> (Option<i32>, Value) {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "--quiet", "--locked", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .args(["-p", "tracker-cdk", "--features", "aws"])
            .args(["--", "review", STACK, "--change-set"])
            .arg(change_set)
            .args(["--format", "json"]);
        self.env(&mut cmd);
        let what = format!("tracker-cdk review {STACK} --change-set {change_set}");
        let out = run(&mut cmd, Duration::from_secs(600), &what);
        let report = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{what} (exit {:?}) printed no JSON ({e})\nstdout:\n{}\nstderr:\n{}\n{}",
                out.code,
                out.stdout,
                out.stderr,
                self.emulator.log_tail()
            )
        });
        (out.code, report)
    }

    /// `tracker-cdk release STACK --image-tag TAG` (built with `--features aws`, the loop's CDK
    /// CLI, direct deploys), while `test/moto/migration.py` plays the migration container: it
    /// writes `lines` to the task's log and stops it with `exit_code` (moto cannot run a
    /// container; see that script). Returns the release's output and the script's report.
    fn release(&self, stack: &str, tag: &str, exit_code: i32, lines: &[&str]) -> (Output, Value) {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "--quiet", "--locked", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .args(["-p", "tracker-cdk", "--features", "aws", "--"])
            // A short timeout: should migration.py fail, the release ends (exit 22) instead of
            // waiting for a task nothing will stop.
            .args(["release", stack, "--image-tag", tag, "--poll-seconds", "1"])
            .args(["--timeout-minutes", "3", "--cdk"])
            .arg(repo_root().join("node_modules/.bin/cdk"))
            .args([
                "--",
                "--method=direct",
                "--no-previous-parameters",
                "--no-notices",
            ]);
        self.env(&mut cmd);
        let what = format!("tracker-cdk release {stack} --image-tag {tag}");
        let code = exit_code.to_string();
        let mut args = vec!["--stack", stack, "--exit-code", &code];
        for line in lines {
            args.extend(["--line", line]);
        }
        std::thread::scope(|scope| {
            let released = scope.spawn(|| run(&mut cmd, Duration::from_secs(600), &what));
            let container = self.python("migration.py", &args, Duration::from_secs(600));
            (released.join().expect("the release thread"), container)
        })
    }

    fn template(&self) -> PathBuf {
        self.template_of(STACK)
    }

    fn template_of(&self, stack: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("cdk.out/{stack}.template.json"))
    }

    /// Reads the services stack back (check.py) and asserts every check passed; returns the
    /// report.
    fn check(&self, phase: &str) -> Value {
        self.check_stack(phase, STACK, &[])
    }

    /// Reads `stack` back (check.py, with `extra` arguments) and asserts every check passed;
    /// returns the report.
    fn check_stack(&self, phase: &str, stack: &str, extra: &[&str]) -> Value {
        let template = self.template_of(stack);
        let state = self.dir.path().join(format!("state-{stack}.json"));
        let mut args = vec![
            "--phase",
            phase,
            "--stack",
            stack,
            "--template",
            template.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ];
        args.extend(extra);
        let report = self.python("check.py", &args, Duration::from_secs(180));
        let failed: Vec<String> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] != true)
            .map(|c| format!("  {} {}: {}", c["kind"], c["resource"], c["detail"]))
            .collect();
        assert!(
            failed.is_empty(),
            "{phase}: {} of {} checks failed:\n{}\n{}",
            failed.len(),
            report["checks"].as_array().unwrap().len(),
            failed.join("\n"),
            self.emulator.log_tail()
        );
        report
    }
}

/// How many checks of `kind` the report holds.
fn count(report: &Value, kind: &str) -> usize {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .count()
}

/// One template whose resources are those of `a` and `b` (the two stacks of an environment:
/// their logical ids do not collide, which `stacks/tests/tracker.rs` also checks).
fn merge_resources(a: &Value, b: &Value) -> Value {
    let mut resources = a["Resources"].as_object().unwrap().clone();
    for (id, r) in b["Resources"].as_object().unwrap() {
        // The CLI's analytics resource is in every stack.
        if id != "CDKMetadata" {
            assert!(
                resources.insert(id.clone(), r.clone()).is_none(),
                "{id} in both stacks"
            );
        }
    }
    json!({ "Resources": resources })
}

/// The checks of two check.py reports together.
fn merge_checks(a: &Value, b: &Value) -> Value {
    let checks: Vec<Value> = a["checks"]
        .as_array()
        .unwrap()
        .iter()
        .chain(b["checks"].as_array().unwrap())
        .cloned()
        .collect();
    json!({ "checks": checks })
}

/// Resources of `type_` in a template.
fn resources_of(template: &Value, type_: &str) -> Vec<String> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == type_)
        .map(|(id, _)| id.clone())
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The venv's Python, with moto 5.2.5 and boto3; panics with what to do otherwise.
fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args([
                "-c",
                "import moto, boto3, werkzeug; assert moto.__version__ == '5.2.5', moto.__version__",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the project venv has no moto 5.2.5 ({}): run `make setup` in the repository root (it \
         installs the pinned moto[server] and boto3 into .venv)",
        python.display()
    );
    python
}

/// A copy of the repository's cdk.json for the emulator's account: the same app (run with
/// `--manifest-path` from the temporary directory) and context, plus account, region,
/// availability zones and the certificate in that account. Returns the certificate ARNs to seed.
fn write_cdk_json(dir: &Path) -> Vec<String> {
    let mut cdk_json = read_json(&repo_root().join("cdk.json"));
    let app = cdk_json["app"]
        .as_str()
        .expect("cdk.json has an app")
        .to_string();
    let manifest = repo_root().join("Cargo.toml");
    let app = app
        .strip_prefix("cargo run")
        .map(|rest| format!("cargo run --manifest-path {}{rest}", manifest.display()))
        .unwrap_or_else(|| panic!("cdk.json's app is not a `cargo run` command: {app}"));
    cdk_json["app"] = json!(app);
    cdk_json["output"] = json!("cdk.out");
    let context = cdk_json["context"].as_object_mut().unwrap();
    context.insert("account".into(), json!(ACCOUNT));
    context.insert("region".into(), json!(REGION));
    context.insert(
        format!("availability-zones:account={ACCOUNT}:region={REGION}"),
        json!([
            format!("{REGION}a"),
            format!("{REGION}b"),
            format!("{REGION}c")
        ]),
    );
    // One public service deploys blue/green on the emulator (what moto keeps of it and what it
    // does not do: `BLUE_GREEN_SERVICE` below and the README).
    context.insert(
        format!("staging.{BLUE_GREEN_SERVICE}.deployment"),
        json!("blue-green"),
    );
    let mut certificates = Vec::new();
    for (key, value) in context.iter_mut() {
        if key.ends_with("ertificateArn") {
            if let Some(arn) = value.as_str() {
                // arn:aws:acm:REGION:ACCOUNT:certificate/ID -> the emulator's account.
                let mut parts: Vec<&str> = arn.split(':').collect();
                if parts.len() > 5 {
                    parts[4] = ACCOUNT;
                }
                let moved = parts.join(":");
                certificates.push(moved.clone());
                *value = json!(moved);
            }
        }
    }
    std::fs::write(
        dir.join("cdk.json"),
        serde_json::to_string_pretty(&cdk_json).unwrap(),
    )
    .unwrap();
    certificates
}

#[test]
fn staging_bootstraps_deploys_updates_and_destroys_on_the_emulator() {
    let started = Instant::now();
    let python = venv_python();
    assert!(
        repo_root().join("node_modules/.bin/cdk").exists(),
        "the CDK CLI is not installed: run `make setup` (npm ci) in the repository root"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let certificates = write_cdk_json(dir.path());
    let emulator = Emulator::start(&python, dir.path(), &certificates);
    let lp = Loop {
        dir,
        python,
        emulator,
    };
    let minutes = |n: u64| Duration::from_secs(60 * n);

    // Bootstrap, then the first deployment. Direct deployment: a stack that moto creates from a
    // change set gets no outputs or exports (the CLI's default change-set deploy would then find
    // none), and --no-previous-parameters because `UsePreviousValue` on the bootstrap version
    // parameter raises in moto. (The lookups of the CLI's `prepare-change-set` path are patched
    // in `test/moto/tracker_moto/gaps.py` and used for the reviews below.)
    // From a directory without cdk.json: with an explicit environment the CLI needs no app, and
    // would otherwise synthesize it first.
    let elsewhere = lp.dir.path().join("bootstrap");
    std::fs::create_dir(&elsewhere).unwrap();
    lp.cdk_in(
        &elsewhere,
        &["bootstrap", &format!("aws://{ACCOUNT}/{REGION}")],
        minutes(3),
    );
    let deploy = |tag: &str| {
        // Not --exclusively: the CLI deploys the data stack first, as for a user.
        lp.cdk(
            &[
                "deploy",
                STACK,
                "-c",
                &format!("imageTag={tag}"),
                "--method=direct",
                "--no-previous-parameters",
                "--require-approval",
                "never",
            ],
            minutes(10),
        )
    };
    deploy(FIRST_TAG);
    // The data stack: deployed first, termination-protected, and its stack policy (generated
    // by `tracker-cdk stack-policy` from the synthesized template) set and read back.
    let policy = lp.dir.path().join("stack-policy.json");
    let printed = lp.tracker_cdk(&[
        "stack-policy",
        DATA_STACK,
        "--template",
        lp.template_of(DATA_STACK).to_str().unwrap(),
    ]);
    let denied = serde_json::from_str::<Value>(&printed).unwrap()["Statement"][1]["Resource"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(denied > 0, "the stack policy protects nothing: {printed}");
    std::fs::write(&policy, &printed).unwrap();
    let data = lp.check_stack(
        "deployed",
        DATA_STACK,
        &[
            "--termination-protection",
            "--stack-policy",
            policy.to_str().unwrap(),
        ],
    );
    assert_eq!(count(&data, "termination-protection"), 1);
    assert_eq!(count(&data, "stack-policy"), 1);
    let first = lp.check("deployed");
    assert!(
        data["created"].as_str().unwrap() < first["created"].as_str().unwrap(),
        "the data stack is created before the services stack: {} / {}",
        data["created"],
        first["created"]
    );
    // The checks of both stacks, against both templates.
    let data_template = read_json(&lp.template_of(DATA_STACK));
    let services_template = read_json(&lp.template());
    let template = merge_resources(&data_template, &services_template);
    let first_both = merge_checks(&data, &first);
    // Off hours (staging's default): every scheduled action of every scalable target was read
    // back from the emulator with its schedule, time zone and capacities.
    let scheduled_actions: usize = resources_of(
        &services_template,
        "AWS::ApplicationAutoScaling::ScalableTarget",
    )
    .iter()
    .map(|id| {
        services_template["Resources"][id]["Properties"]["ScheduledActions"]
            .as_array()
            .map_or(0, Vec::len)
    })
    .sum();
    assert!(
        scheduled_actions > 0,
        "staging schedules its services off hours"
    );
    assert_eq!(count(&first, "scheduled-action"), scheduled_actions);

    // What the checks covered: one check per resource of each kind the template declares.
    assert_each_resource_checked(
        "staging",
        &template,
        &first_both,
        &[("efs-access-point", "AWS::EFS::AccessPoint")],
    );
    let declared_rules = resources_of(&template, "AWS::EC2::SecurityGroupIngress").len()
        + resources_of(&template, "AWS::EC2::SecurityGroupEgress").len();
    assert!(
        count(&first_both, "security-group-rule") >= declared_rules,
        "every security-group rule resource is checked"
    );

    // The blue/green service, as the emulator keeps it.
    check_blue_green(&lp, &services_template, "deployed");

    // Every service runs the first tag (Anisette is pinned separately).
    let before = images(&first);
    let tagged: Vec<&String> = before
        .iter()
        .filter(|(_, i)| i.iter().all(|i| i.ends_with(&format!(":{FIRST_TAG}"))))
        .map(|(s, _)| s)
        .collect();
    assert!(
        tagged.len() >= before.len() - 1 && !tagged.is_empty(),
        "services on {FIRST_TAG}: {before:#?}"
    );

    // The diff of that update against the deployed stack. `--method=template`: the default
    // change-set diff runs on moto but reports "no differences", as moto's change sets carry no
    // property-level details.
    let diff = lp.cdk(
        &[
            "diff",
            STACK,
            "--exclusively",
            "-c",
            &format!("imageTag={UPDATE_TAG}"),
            "--method=template",
        ],
        minutes(10),
    );
    let diff = format!("{}{}", diff.stdout, diff.stderr);
    assert!(
        diff.contains(&format!(":{FIRST_TAG}\""))
            && diff.contains(&format!(":{UPDATE_TAG}\""))
            && diff.contains("AWS::ECS::TaskDefinition")
            && diff.contains("Number of stacks with differences: 1"),
        "cdk diff shows the image change:\n{diff}"
    );

    // An update: a new image tag. The task definitions get new revisions and the services move.
    deploy(UPDATE_TAG);
    let updated = lp.check("deployed");
    // A new revision of the blue/green service: the emulator moves the service's task
    // definition in place; the rule keeps its weights (asserted in `check_blue_green`).
    let after_update = check_blue_green(&lp, &read_json(&lp.template()), "updated");
    assert!(
        after_update["services"][0]["taskDefinition"]
            .as_str()
            .is_some_and(|td| !td.is_empty()),
        "{after_update:#}"
    );
    let after = images(&updated);
    for service in &tagged {
        assert!(
            after[*service]
                .iter()
                .all(|i| i.ends_with(&format!(":{UPDATE_TAG}"))),
            "{service} did not move to {UPDATE_TAG}: {:?}",
            after[*service]
        );
    }
    for (service, images) in &after {
        if !tagged.contains(&service) {
            assert_eq!(images, &before[service], "{service} changed unasked");
        }
    }

    // Review: change sets prepared by the CLI itself (the same command as against a real
    // account), reviewed online through the CloudFormation API by `tracker-cdk review`.
    let deployed_template = read_json(&lp.template());
    let prepare = |name: &str, context: &[String]| {
        let mut args = vec!["deploy", STACK, "--exclusively"];
        for c in context {
            args.extend(["-c", c.as_str()]);
        }
        args.extend([
            "--method=prepare-change-set",
            "--change-set-name",
            name,
            "--no-previous-parameters",
            "--require-approval",
            "never",
        ]);
        lp.cdk(&args, minutes(10));
        read_json(&lp.template())
    };
    let changed_ids = |from: &Value, to: &Value| -> Vec<String> {
        let (from, to) = (
            from["Resources"].as_object().unwrap(),
            to["Resources"].as_object().unwrap(),
        );
        let mut ids: Vec<String> = to
            .iter()
            .filter(|(id, r)| from.get(*id) != Some(*r))
            .map(|(id, _)| id.clone())
            .chain(from.keys().filter(|id| !to.contains_key(*id)).cloned())
            .collect();
        ids.sort();
        ids
    };
    // The offline review of the same two templates (no API: the deployed template as the
    // baseline) must reach the online review's answer, change by change, where the emulator's
    // change set supplies the data.
    let agrees_offline = |online: &Value, proposed: &Value| {
        let offline = tracker_review::review_templates_named(
            STACK,
            tracker_review::Source::TemplateDiff {
                baseline: "deployed".into(),
                template: "proposed".into(),
            },
            &deployed_template,
            proposed,
        )
        .to_json();
        let by_id = |r: &Value| -> BTreeMap<String, (Value, Value)> {
            r["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["logical_id"].as_str().unwrap().to_string(),
                        (c["action"].clone(), c["risk"].clone()),
                    )
                })
                .collect()
        };
        assert_eq!(
            by_id(&offline),
            by_id(online),
            "the offline and the online review disagree:\noffline {offline:#}\nonline {online:#}"
        );
        assert_eq!(offline["summary"]["verdict"], online["summary"]["verdict"]);
    };
    let reviewed_ids = |report: &Value| -> Vec<String> {
        let mut ids: Vec<String> = report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["logical_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };

    // A new image tag: new task definition revisions only, safe.
    let proposed = prepare("deploy-loop-image", &["imageTag=v1.0.2".to_string()]);
    let (code, report) = lp.review("deploy-loop-image");
    assert_eq!(code, Some(0), "a new image tag is safe: {report:#}");
    assert_eq!(report["summary"]["verdict"], "safe", "{report:#}");
    assert_eq!(report["summary"]["exit_code"], 0, "{report:#}");
    assert_eq!(report["summary"]["data_loss"], 0, "{report:#}");
    assert_eq!(report["summary"]["widening"], 0, "{report:#}");
    assert_eq!(report["source"]["change_set"], "deploy-loop-image");
    let expected = changed_ids(&deployed_template, &proposed);
    assert!(!expected.is_empty());
    assert_eq!(
        reviewed_ids(&report),
        expected,
        "the change set's changes: {report:#}"
    );
    agrees_offline(&report, &proposed);
    // A task definition is immutable: a new image is a new revision, which CloudFormation
    // reports as a replacement (`Replacement: True`); moto's change set gives no Replacement, so
    // the review classifies the entry from the templates and must reach the same answer.
    for change in report["changes"].as_array().unwrap() {
        assert_eq!(change["type"], "AWS::ECS::TaskDefinition", "{change:#}");
        assert_eq!(change["action"], "replace", "{change:#}");
        assert_eq!(change["replacement"], "always", "{change:#}");
        assert_eq!(change["risk"], "none", "{change:#}");
        assert!(
            change["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("ContainerDefinitions")),
            "{change:#}"
        );
    }

    // One more CIDR on the admin allow-list: widened access, exit 11.
    let allow_list = read_json(&repo_root().join("cdk.json"))["context"]["adminAllowList"].clone();
    let mut cidrs: Vec<String> = match &allow_list {
        Value::Array(items) => items
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
        Value::String(text) => text.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let new_cidr = "198.51.100.0/24";
    cidrs.push(new_cidr.to_string());
    let proposed = prepare(
        "deploy-loop-widen",
        &[
            format!("imageTag={UPDATE_TAG}"),
            format!("adminAllowList={}", cidrs.join(",")),
        ],
    );
    let (code, report) = lp.review("deploy-loop-widen");
    assert_eq!(
        code,
        Some(11),
        "a new source CIDR widens access: {report:#}"
    );
    assert_eq!(report["summary"]["verdict"], "widening", "{report:#}");
    assert_eq!(report["summary"]["exit_code"], 11, "{report:#}");
    assert_eq!(report["summary"]["data_loss"], 0, "{report:#}");
    assert_eq!(
        reviewed_ids(&report),
        changed_ids(&deployed_template, &proposed)
    );
    agrees_offline(&report, &proposed);
    assert!(
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["risk"] == "widening" && c["widening"].to_string().contains(new_cidr)),
        "the widening names {new_cidr}: {report:#}"
    );

    // Destroy, in reverse order: the services stack, then the data stack. Each goes; what its
    // template retains stays. (moto keeps termination protection as a flag but does not enforce
    // it and has no UpdateTerminationProtection: against an account, turn it off first, as the
    // README says.)
    lp.cdk(&["destroy", STACK, "--exclusively", "--force"], minutes(5));
    let gone = lp.check("destroyed");
    lp.cdk(
        &["destroy", DATA_STACK, "--exclusively", "--force"],
        minutes(5),
    );
    let gone_data = lp.check_stack("destroyed", DATA_STACK, &[]);
    let destroyed = merge_checks(&gone_data, &gone);
    assert_eq!(count(&destroyed, "stack-deleted"), 2);
    let retained: Vec<String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["DeletionPolicy"] == "Retain")
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!retained.is_empty(), "the staging templates retain nothing");
    assert_eq!(
        count(&destroyed, "retained"),
        retained.len(),
        "a retention check for each retained resource ({retained:?})"
    );
    for id in ["AnisetteFileSystemE1342D7B", "DataBackupVault7EE20BF7"] {
        assert!(retained.iter().any(|r| r == id), "{id} is not retained");
    }
    assert_eq!(
        count(&destroyed, "snapshot"),
        template["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["DeletionPolicy"] == "Snapshot")
            .count()
    );
    assert!(
        count(&destroyed, "deleted") > 0,
        "deleted resources are checked to be gone"
    );

    let staging_seconds = started.elapsed().as_secs_f64();

    // Production: `cdk deploy TrackerProduction` deploys the data stack first (three Patroni
    // hosts at fixed IPs behind an internal NLB, ElastiCache, EFS, secrets), then the services
    // (with the WAF association). Both are read back and compared with their templates, then
    // destroyed in reverse, what they retain or snapshot surviving.
    let production = Instant::now();
    lp.cdk(
        &[
            "deploy",
            PRODUCTION,
            "-c",
            &format!("imageTag={FIRST_TAG}"),
            "--method=direct",
            "--no-previous-parameters",
            "--require-approval",
            "never",
        ],
        minutes(10),
    );
    let deployed_seconds = production.elapsed().as_secs_f64();
    let prod_data = lp.check_stack("deployed", PRODUCTION_DATA, &["--termination-protection"]);
    let prod_services = lp.check_stack("deployed", PRODUCTION, &["--termination-protection"]);
    assert!(
        prod_data["created"].as_str().unwrap() < prod_services["created"].as_str().unwrap(),
        "the production data stack is created before the services stack"
    );
    let prod_template = merge_resources(
        &read_json(&lp.template_of(PRODUCTION_DATA)),
        &read_json(&lp.template_of(PRODUCTION)),
    );
    let prod_both = merge_checks(&prod_data, &prod_services);
    assert_each_resource_checked(
        "production",
        &prod_template,
        &prod_both,
        &[(
            "elasticache-replication-group",
            "AWS::ElastiCache::ReplicationGroup",
        )],
    );
    // What production adds over staging was compared, not skipped: the NLB's type and TCP
    // listener, the Patroni hosts' fixed IPs and security groups, the NLB's targets, the
    // ElastiCache group's encryption.
    let compared = |kind: &str, fields: &[&str]| {
        for check in prod_both["checks"].as_array().unwrap() {
            if check["kind"] == kind {
                let detail = check["detail"].as_str().unwrap();
                for field in fields {
                    assert!(
                        detail.contains(field),
                        "production: {kind} {} did not compare {field}: {detail}",
                        check["resource"]
                    );
                }
            }
        }
    };
    compared(
        "ec2-instance",
        &["privateIp", "securityGroups", "subnetId", "instanceType"],
    );
    compared(
        "elasticache-replication-group",
        &[
            "atRestEncryptionEnabled",
            "transitEncryptionEnabled",
            "transitEncryptionMode",
            "authTokenEnabled",
            "memberClusters",
        ],
    );
    compared("load-balancer", &["type", "scheme"]);
    compared("listener", &["port", "protocol"]);
    let networks = prod_template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
                && r["Properties"]["Type"] == "network"
        })
        .count();
    assert_eq!(networks, 1, "production has one NLB (Patroni's writer)");
    let targets = prod_both["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["kind"] == "target-group" && c["detail"].as_str().unwrap().contains("targets")
        })
        .count();
    assert_eq!(targets, 1, "the NLB's Patroni targets are read back");

    // A release on production: `tracker-cdk release` deploys the migration task definition on
    // the new tag (the services stay), runs it with the stack's network configuration, follows
    // its log and waits for it to stop, then deploys the services. The container's part is
    // played through the emulator's API (test/moto/migration.py): it exits 0 here, 3 below.
    let releasing = Instant::now();
    let log_line = "Applying tracker.0042_devices... OK";
    let (released, task) = lp.release(PRODUCTION, RELEASE_TAG, 0, &[log_line]);
    assert_eq!(
        released.code,
        Some(0),
        "release {RELEASE_TAG}\nstderr:\n{}\n{}",
        released.stderr,
        lp.emulator.log_tail()
    );
    let release_seconds = releasing.elapsed().as_secs_f64();
    assert!(
        released.stderr.contains(&format!("| {log_line}")),
        "the release shows the migration's log:\n{}",
        released.stderr
    );
    // While the migration ran, the stack was in the intermediate state: the migration task
    // definition on the new tag, the services on the old one; the task ran that revision in the
    // stack's private subnets with its security group, Fargate, no public IP.
    let staged = &task["outputs"];
    assert_eq!(staged["ImageTag"], FIRST_TAG, "{task:#}");
    assert_eq!(staged["MigrationImageTag"], RELEASE_TAG, "{task:#}");
    assert_eq!(
        task["taskDefinitionArn"], staged["MigrationTaskDefinition"],
        "{task:#}"
    );
    assert_migration_image(&task, RELEASE_TAG);
    assert!(
        staged["MigrationSubnets"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|s| Some(s) == task["subnet"].as_str()),
        "{task:#}"
    );
    assert_eq!(
        task["securityGroups"],
        json!([staged["MigrationSecurityGroup"]]),
        "{task:#}"
    );
    assert_eq!(task["launchType"], "FARGATE", "{task:#}");
    // Then the services: read back against the template of the services deploy, every
    // service image (Anisette is pinned) on the new tag.
    let after_release = images(&lp.check_stack("deployed", PRODUCTION, &[]));
    let on = |images: &BTreeMap<String, Vec<String>>, tag: &str| -> usize {
        images
            .values()
            .filter(|i| i.iter().all(|i| i.ends_with(&format!(":{tag}"))))
            .count()
    };
    assert_eq!(
        on(&after_release, RELEASE_TAG),
        after_release.len() - 1,
        "every service but Anisette on {RELEASE_TAG}: {after_release:#?}"
    );

    // A failing migration: exit code 20, the services not deployed (still on the released tag),
    // the stack left in the intermediate state (checked against the migration deploy's
    // template).
    let (failed, task) = lp.release(
        PRODUCTION,
        FAILING_TAG,
        3,
        &["relation \"devices\" already exists"],
    );
    assert_eq!(
        failed.code,
        Some(20),
        "a failed migration exits 20\nstderr:\n{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("exited with code 3") && failed.stderr.contains("already exists"),
        "{}",
        failed.stderr
    );
    assert_migration_image(&task, FAILING_TAG);
    let after_failure = images(&lp.check_stack("deployed", PRODUCTION, &[]));
    assert_eq!(
        after_failure, after_release,
        "a failed migration leaves the services alone"
    );
    let releases_seconds = releasing.elapsed().as_secs_f64();

    let destroying = Instant::now();
    lp.cdk(
        &["destroy", PRODUCTION, "--exclusively", "--force"],
        minutes(5),
    );
    let prod_gone = lp.check_stack("destroyed", PRODUCTION, &[]);
    lp.cdk(
        &["destroy", PRODUCTION_DATA, "--exclusively", "--force"],
        minutes(5),
    );
    let prod_gone_data = lp.check_stack("destroyed", PRODUCTION_DATA, &[]);
    let destroyed_seconds = destroying.elapsed().as_secs_f64();
    let prod_destroyed = merge_checks(&prod_gone_data, &prod_gone);
    assert_eq!(count(&prod_destroyed, "stack-deleted"), 2);
    let policy_count = |policy: &str| {
        prod_template["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["DeletionPolicy"] == policy)
            .count()
    };
    assert!(policy_count("Retain") > 0);
    assert_eq!(
        count(&prod_destroyed, "retained"),
        policy_count("Retain"),
        "production: a retention check for each retained resource"
    );
    assert_eq!(
        count(&prod_destroyed, "snapshot"),
        policy_count("Snapshot"),
        "production: a snapshot check for each snapshotted resource (EBS volumes, ElastiCache)"
    );
    assert!(
        prod_destroyed["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "snapshot" && c["resource"] == "RedisReplicationGroup3B65AB4E"),
        "the ElastiCache group's final snapshot is checked"
    );

    eprintln!(
        "deploy loop, staging (bootstrap, deploy, check, diff, update, check, two change sets \
         reviewed, destroy, check): {staging_seconds:.1} s; production (deploy both stacks \
         {deployed_seconds:.1} s, check, release {release_seconds:.1} s, failing release and \
         checks {:.1} s, destroy and check {destroyed_seconds:.1} s): {:.1} s; total {:.1} s",
        releases_seconds - release_seconds,
        production.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// The images of each service a check.py report read back, by the service's logical id.
fn images(report: &Value) -> BTreeMap<String, Vec<String>> {
    serde_json::from_value(report["images"].clone()).unwrap()
}

/// Asserts the migration task `migration.py` saw ran the api image at `tag`.
fn assert_migration_image(task: &Value, tag: &str) {
    assert!(
        task["image"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/tracker/api:{tag}")),
        "the migration ran another image than tracker/api:{tag}: {task:#}"
    );
}

/// The staging service the loop deploys with the blue/green strategy.
const BLUE_GREEN_SERVICE: &str = "frontend";

/// Asserts what the emulator kept of staging's blue/green service (read back by blue_green.py)
/// against `template`, and prints what it does not do; returns the read-back.
fn check_blue_green(lp: &Loop, template: &Value, phase: &str) -> Value {
    let read = lp.python(
        "blue_green.py",
        &["--stack", STACK],
        Duration::from_secs(120),
    );
    let services = read["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "one blue/green service: {read:#}");
    let s = &services[0];
    let path = |suffix: &str| {
        let wanted = format!("{STACK}/Frontend/{suffix}");
        template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, r)| r["Metadata"]["aws:cdk:path"] == wanted.as_str())
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no {wanted} in the template"))
    };
    assert_eq!(s["service"], path("Service/Service").as_str());
    let dc = &s["deploymentConfiguration"];
    assert_eq!(dc["strategy"], "BLUE_GREEN", "{s:#}");
    assert_eq!(dc["bakeTimeInMinutes"], 15, "{s:#}");
    assert_eq!(dc["alarms"]["rollback"], true, "{s:#}");
    assert_eq!(s["deploymentController"]["type"], "ECS", "{s:#}");
    assert_eq!(s["targetGroup"], path("TargetGroup/Resource").as_str());
    assert_eq!(
        s["alternateTargetGroup"],
        path("AlternateTargetGroup/Resource").as_str()
    );
    assert_eq!(
        s["productionListenerRule"],
        path("ListenerRule/Resource").as_str()
    );
    assert_eq!(s["role"], path("TrafficShiftRole/Resource").as_str());
    // The production rule as deployed: all traffic on the primary group.
    assert_eq!(
        s["ruleWeights"],
        json!({
            path("TargetGroup/Resource"): 100,
            path("AlternateTargetGroup/Resource"): 0
        })
    );
    // What the emulator does not do, printed for the record (not asserted: it is moto's
    // behaviour, not the stack's).
    println!(
        "MOTO-BLUE-GREEN {phase}: rule weights {} (no traffic shift), registered targets {}, \
         deployments {}, role's attached policies {} (AWS managed policies not loaded)",
        s["ruleWeights"], s["registeredTargets"], s["deployments"], s["roleAttachedPolicies"]
    );
    read
}

/// What check.py covers in every environment: its check kind, and the resource type it checks.
const CHECKED: [(&str, &str); 13] = [
    ("ecs-cluster", "AWS::ECS::Cluster"),
    ("ecs-service", "AWS::ECS::Service"),
    ("ecs-task-definition", "AWS::ECS::TaskDefinition"),
    ("load-balancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    ("listener", "AWS::ElasticLoadBalancingV2::Listener"),
    ("target-group", "AWS::ElasticLoadBalancingV2::TargetGroup"),
    ("efs-file-system", "AWS::EFS::FileSystem"),
    ("efs-mount-target", "AWS::EFS::MountTarget"),
    ("ec2-instance", "AWS::EC2::Instance"),
    ("ebs-volume", "AWS::EC2::Volume"),
    ("log-group", "AWS::Logs::LogGroup"),
    ("log-metric-filter", "AWS::Logs::MetricFilter"),
    ("s3-bucket", "AWS::S3::Bucket"),
];

/// Asserts the checks cover `template`: one check of each kind of [`CHECKED`] and `extra` per
/// resource of its type, and at least one such resource declared.
fn assert_each_resource_checked(
    environment: &str,
    template: &Value,
    checks: &Value,
    extra: &[(&str, &str)],
) {
    for &(kind, type_) in CHECKED.iter().chain(extra) {
        let declared = resources_of(template, type_).len();
        assert!(
            declared > 0,
            "the {environment} templates declare no {type_}"
        );
        assert_eq!(
            count(checks, kind),
            declared,
            "{environment}: {kind} checks vs {type_}"
        );
    }
}
