//! The release's ordering, waiting and failures, with a recording fake of its steps: a small
//! model of a deployed stack (its two tags follow the `-c` values of each deploy) and of a
//! migration task whose polls are scripted. Each test asserts the exact sequence of steps, so a
//! reordering (services before the migration, a run before its deploy, a deploy after a
//! failure) fails it.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tracker_release::cdk::CdkCli;
use tracker_release::{
    exit, release, MigrationTarget, Phase, Poll, Release, ReleaseError, StackState, Started, Steps,
    TaskStatus,
};

const TASK: &str = "arn:aws:ecs:eu-west-1:123456789012:task/cluster/0f1e2d3c";

/// A step the release took.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Describe,
    Deploy(Phase, Vec<(String, String)>),
    Run(String),
    Poll,
    Sleep,
}

struct Fake {
    steps: Vec<Step>,
    said: Vec<String>,
    /// The deployed stack's tags: (services, migration).
    tags: (String, String),
    /// Applies the `-c` values of a deploy to `tags` (a stack whose cdk.json pins the tag does
    /// not).
    follows_context: bool,
    /// The phase whose deploy fails, if any.
    failing_deploy: Option<Phase>,
    started: Started,
    polls: VecDeque<Poll>,
}

impl Fake {
    fn new(polls: Vec<Poll>) -> Fake {
        Fake {
            steps: Vec::new(),
            said: Vec::new(),
            tags: ("v1.0.0".into(), "v1.0.0".into()),
            follows_context: true,
            failing_deploy: None,
            started: Started::Task(TASK.into()),
            polls: polls.into(),
        }
    }
}

impl Steps for Fake {
    fn describe(&mut self, _: &str) -> Result<StackState, ReleaseError> {
        self.steps.push(Step::Describe);
        Ok(StackState {
            image_tag: self.tags.0.clone(),
            migration_image_tag: self.tags.1.clone(),
            migration: target(&self.tags.1),
        })
    }

    fn deploy(
        &mut self,
        _: &str,
        phase: Phase,
        context: &[(String, String)],
    ) -> Result<(), ReleaseError> {
        self.steps.push(Step::Deploy(phase, context.to_vec()));
        if self.failing_deploy == Some(phase) {
            return Err(ReleaseError::Deploy {
                phase,
                stack: "TrackerProduction".into(),
                detail: "cdk deploy exited with 1".into(),
                hint: "",
            });
        }
        if self.follows_context {
            let get = |k: &str| context.iter().find(|(key, _)| key == k).unwrap().1.clone();
            self.tags = (
                get("production.imageTag"),
                get("production.migrationImageTag"),
            );
        }
        Ok(())
    }

    fn run_task(&mut self, target: &MigrationTarget) -> Result<Started, ReleaseError> {
        self.steps.push(Step::Run(target.task_definition.clone()));
        Ok(self.started.clone())
    }

    fn poll(&mut self, _: &MigrationTarget, _: &str) -> Result<Poll, ReleaseError> {
        self.steps.push(Step::Poll);
        Ok(self
            .polls
            .pop_front()
            .expect("polled after the task stopped"))
    }

    fn sleep(&mut self, _: Duration) {
        self.steps.push(Step::Sleep);
    }

    fn say(&mut self, line: &str) {
        self.said.push(line.to_string());
    }
}

/// The migration target of a stack whose task definition runs `tag` (a new revision per tag).
fn target(tag: &str) -> MigrationTarget {
    MigrationTarget {
        cluster: "tracker-production".into(),
        task_definition: format!("production-migrate@{tag}"),
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_group: "sg-migrate".into(),
        log_group: "migrate-logs".into(),
    }
}

fn running(log: &[&str]) -> Poll {
    Poll {
        status: TaskStatus::Running("RUNNING".into()),
        log: log.iter().map(|l| l.to_string()).collect(),
    }
}

fn stopped(exit_code: Option<i32>, reason: &str) -> Poll {
    Poll {
        status: TaskStatus::Stopped {
            exit_code,
            reason: reason.into(),
        },
        log: Vec::new(),
    }
}

fn ctx(services: &str, migration: &str) -> Vec<(String, String)> {
    vec![
        ("production.imageTag".into(), services.into()),
        ("production.migrationImageTag".into(), migration.into()),
    ]
}

fn plan() -> Release {
    Release::new("TrackerProduction", "production", "v1.1.0")
}

/// The steps up to and including the migration's run, on the new revision.
fn until_run() -> Vec<Step> {
    vec![
        Step::Describe,
        Step::Deploy(Phase::Migration, ctx("v1.0.0", "v1.1.0")),
        Step::Describe,
        Step::Run("production-migrate@v1.1.0".into()),
    ]
}

#[test]
fn migrates_on_the_new_image_waits_for_it_then_deploys_the_services() {
    let mut fake = Fake::new(vec![
        running(&["Applying tracker.0042_devices... OK"]),
        running(&[]),
        stopped(Some(0), "Essential container in task exited"),
    ]);
    let done = release(&mut fake, &plan()).unwrap();
    let mut expected = until_run();
    expected.extend([
        Step::Poll,
        Step::Sleep,
        Step::Poll,
        Step::Sleep,
        Step::Poll,
        Step::Deploy(Phase::Services, ctx("v1.1.0", "v1.1.0")),
    ]);
    assert_eq!(fake.steps, expected);
    assert_eq!(done.previous_tag, "v1.0.0");
    assert_eq!(done.migration_task, TASK);
    assert_eq!(fake.tags, ("v1.1.0".into(), "v1.1.0".into()));
    assert!(
        fake.said
            .iter()
            .any(|l| l.contains("Applying tracker.0042_devices")),
        "the container's log is shown: {:?}",
        fake.said
    );
}

#[test]
fn a_failed_migration_never_deploys_the_services() {
    let mut fake = Fake::new(vec![
        running(&["boom"]),
        stopped(Some(3), "Essential container in task exited"),
    ]);
    let err = release(&mut fake, &plan()).unwrap_err();
    let mut expected = until_run();
    expected.extend([Step::Poll, Step::Sleep, Step::Poll]);
    assert_eq!(fake.steps, expected);
    assert!(!fake
        .steps
        .iter()
        .any(|s| matches!(s, Step::Deploy(Phase::Services, _))));
    assert!(
        matches!(&err, ReleaseError::MigrationFailed { exit_code: 3, .. }),
        "{err}"
    );
    assert_eq!(err.exit_code(), exit::MIGRATION_FAILED);
    let message = err.to_string();
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(message.contains("still run v1.0.0"), "{message}");
    // The stack is left with the migration ahead and the services where they were.
    assert_eq!(fake.tags, ("v1.0.0".into(), "v1.1.0".into()));
}

#[test]
fn a_task_that_never_ran_its_container_is_not_started_and_stops_the_release() {
    let mut fake = Fake::new(vec![stopped(
        None,
        "TaskFailedToStart: CannotPullContainerError: tracker/api:v1.1.0 not found",
    )]);
    let err = release(&mut fake, &plan()).unwrap_err();
    let mut expected = until_run();
    expected.push(Step::Poll);
    assert_eq!(fake.steps, expected);
    assert_eq!(err.exit_code(), exit::MIGRATION_NOT_STARTED);
    assert!(
        err.to_string().contains("CannotPullContainerError"),
        "{err}"
    );

    // RunTask placing no task at all.
    let mut fake = Fake::new(Vec::new());
    fake.started = Started::Refused("RunTask: RESOURCE:ENI".into());
    let err = release(&mut fake, &plan()).unwrap_err();
    assert_eq!(fake.steps, until_run());
    assert_eq!(err.exit_code(), exit::MIGRATION_NOT_STARTED);
    assert!(err.to_string().contains("RESOURCE:ENI"), "{err}");
}

#[test]
fn a_migration_still_running_at_the_timeout_stops_the_release_after_exactly_that_long() {
    let mut plan = plan();
    plan.poll_interval = Duration::from_secs(10);
    plan.timeout = Duration::from_secs(30);
    let mut fake = Fake::new((0..10).map(|_| running(&[])).collect());
    let err = release(&mut fake, &plan).unwrap_err();
    let mut expected = until_run();
    // Polls at 0, 10, 20 and 30 s; the one at 30 s ends it.
    expected.extend([
        Step::Poll,
        Step::Sleep,
        Step::Poll,
        Step::Sleep,
        Step::Poll,
        Step::Sleep,
        Step::Poll,
    ]);
    assert_eq!(fake.steps, expected);
    assert_eq!(err.exit_code(), exit::MIGRATION_TIMEOUT);
    assert!(err.to_string().contains("after 30 s"), "{err}");
}

#[test]
fn a_failed_migration_deploy_runs_nothing() {
    let mut fake = Fake::new(Vec::new());
    fake.failing_deploy = Some(Phase::Migration);
    let err = release(&mut fake, &plan()).unwrap_err();
    assert_eq!(
        fake.steps,
        [
            Step::Describe,
            Step::Deploy(Phase::Migration, ctx("v1.0.0", "v1.1.0"))
        ]
    );
    assert_eq!(err.exit_code(), exit::DEPLOY_FAILED);
}

#[test]
fn a_failed_services_deploy_is_reported_after_the_migration() {
    let mut fake = Fake::new(vec![stopped(Some(0), "")]);
    fake.failing_deploy = Some(Phase::Services);
    let err = release(&mut fake, &plan()).unwrap_err();
    assert_eq!(
        fake.steps.last(),
        Some(&Step::Deploy(Phase::Services, ctx("v1.1.0", "v1.1.0")))
    );
    assert_eq!(err.exit_code(), exit::DEPLOY_FAILED);
    assert!(err.to_string().contains("deploying the services"), "{err}");
}

#[test]
fn a_stack_that_ignores_the_migration_tag_is_not_migrated() {
    // E.g. a cdk.json value the `-c` does not override: the deploy leaves the old definition.
    let mut fake = Fake::new(Vec::new());
    fake.follows_context = false;
    let err = release(&mut fake, &plan()).unwrap_err();
    assert_eq!(
        fake.steps,
        [
            Step::Describe,
            Step::Deploy(Phase::Migration, ctx("v1.0.0", "v1.1.0")),
            Step::Describe
        ]
    );
    assert_eq!(err.exit_code(), exit::STACK_STATE);
    assert!(
        err.to_string().contains("production.migrationImageTag"),
        "{err}"
    );
}

#[test]
fn stack_outputs_missing_are_named_together() {
    let mut outputs = BTreeMap::new();
    outputs.insert("ImageTag".to_string(), "v1".to_string());
    outputs.insert("MigrationCluster".to_string(), "c".to_string());
    let err = StackState::from_outputs("TrackerStaging", &outputs).unwrap_err();
    assert_eq!(err.exit_code(), exit::STACK_STATE);
    let message = err.to_string();
    for name in [
        "MigrationImageTag",
        "MigrationTaskDefinition",
        "MigrationSubnets",
        "MigrationSecurityGroup",
        "MigrationLogGroup",
    ] {
        assert!(message.contains(name), "{message}");
    }
    assert!(!message.contains("MigrationCluster"), "{message}");
    for (k, v) in [
        ("MigrationImageTag", "v2"),
        ("MigrationTaskDefinition", "arn:td:3"),
        ("MigrationSubnets", "subnet-a, subnet-b,subnet-c"),
        ("MigrationSecurityGroup", "sg-1"),
        ("MigrationLogGroup", "lg"),
    ] {
        outputs.insert(k.into(), v.into());
    }
    let state = StackState::from_outputs("TrackerStaging", &outputs).unwrap();
    assert_eq!(
        state.migration.subnets,
        ["subnet-a", "subnet-b", "subnet-c"]
    );
    assert_eq!(state.migration_image_tag, "v2");
}

#[test]
fn the_cdk_cli_gets_the_stack_exclusively_the_context_and_the_extra_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("args");
    // A stand-in CLI that records its arguments, then succeeds or fails.
    let cli = |code: i32| CdkCli {
        command: vec![
            "sh".into(),
            "-c".into(),
            format!("printf '%s\\n' \"$@\" > {}; exit {code}", record.display()),
            "cdk".into(),
        ],
        dir: dir.path().to_path_buf(),
        extra_args: vec!["--method=direct".into()],
    };
    cli(0)
        .deploy("TrackerProduction", Phase::Migration, &ctx("v1", "v2"))
        .unwrap();
    let args = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "deploy",
            "TrackerProduction",
            "--exclusively",
            "--require-approval",
            "never",
            "-c",
            "production.imageTag=v1",
            "-c",
            "production.migrationImageTag=v2",
            "--method=direct"
        ]
    );
    let err = cli(1)
        .deploy("TrackerProduction", Phase::Services, &ctx("v2", "v2"))
        .unwrap_err();
    assert_eq!(err.exit_code(), exit::DEPLOY_FAILED);
    assert!(err.to_string().contains("exited with"), "{err}");
}
