//! `tracker-release`: a release of a services stack, migrations first.
//!
//! `tracker-cdk release TrackerProduction --image-tag v1.4.3` runs, in this order:
//!
//! 1. **read** the stack's outputs (DescribeStacks): the tag the services run now (`ImageTag`);
//! 2. **deploy the migration** (`cdk deploy STACK --exclusively -c <env>.imageTag=<current> -c
//!    <env>.migrationImageTag=<new>`): only the migration task definition changes, to the new
//!    image; the services keep theirs. This is an ordinary state of the stack (`migrationImageTag`
//!    ahead of `imageTag`), reviewable with `cdk diff` and `tracker-cdk review` like any other;
//!    the stack is read again and must show exactly that;
//! 3. **run** the migration task (ECS RunTask, Fargate, in the subnets and security group of the
//!    stack's outputs, no public IP);
//! 4. **wait** for it to stop, printing its CloudWatch log as it comes; a container that exits
//!    non-zero, a task that never started its container, and a task still running at the timeout
//!    each end the release with its own exit code ([`exit`]), the services untouched;
//! 5. **deploy the services** (`-c <env>.imageTag=<new> -c <env>.migrationImageTag=<new>`).
//!
//! The order, the waiting and the failures are this module's logic ([`release`]) over the
//! [`Steps`] trait; the real steps are [`cdk::CdkCli`] (the CDK CLI, a subprocess) and, with the
//! cargo feature `aws`, [`aws::AwsSteps`] (CloudFormation, ECS and CloudWatch Logs through the
//! AWS SDK for Rust, configured like the online review). The tests drive [`release`] with a
//! recording fake.

pub mod aws;
pub mod cdk;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Exit codes of `tracker-cdk release` (beside 0, and clap's 2 for usage errors).
pub mod exit {
    /// AWS could not be asked (credentials, region, network) or refused a call; also a build
    /// without the `aws` feature. The same code as the review's AWS failures.
    pub const AWS: u8 = 5;
    /// The migration ran and its container exited non-zero. The services were not deployed.
    pub const MIGRATION_FAILED: u8 = 20;
    /// The migration task did not start its container (RunTask refused it, or it stopped before
    /// the container ran: image pull, secrets, capacity). The services were not deployed.
    pub const MIGRATION_NOT_STARTED: u8 = 21;
    /// The migration task was still running at the timeout; it was left running (stopping a
    /// migration halfway is worse). The services were not deployed.
    pub const MIGRATION_TIMEOUT: u8 = 22;
    /// A `cdk deploy` failed (the message says which: the migration's or the services').
    pub const DEPLOY_FAILED: u8 = 23;
    /// The stack is not deployed, lacks the outputs a release reads, or is not in the state the
    /// migration deploy should have left.
    pub const STACK_STATE: u8 = 24;
}

/// Which of the two deploys of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Step 2: the migration task definition moves to the new image; the services stay.
    Migration,
    /// Step 5: the services move to the new image.
    Services,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Migration => "the migration task definition",
            Phase::Services => "the services",
        })
    }
}

/// Why a release stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "the migration task {task} exited with code {exit_code}{reason}: the services were not \
         deployed and still run {services_tag}. Read its log above (log group {log_group}); fix \
         the migration and release again, or release the previous tag"
    )]
    MigrationFailed {
        task: String,
        exit_code: i32,
        reason: String,
        services_tag: String,
        log_group: String,
    },
    #[error(
        "the migration task did not start its container ({reason}): the services were not \
         deployed and still run {services_tag}. Check that the image {image_tag} is in the \
         registry for the task's CPU architecture and that its secrets exist"
    )]
    MigrationNotStarted {
        reason: String,
        services_tag: String,
        image_tag: String,
    },
    #[error(
        "the migration task {task} still runs after {seconds} s: left running (stopping a \
         migration halfway is worse), the services were not deployed. Watch it with `aws ecs \
         describe-tasks --cluster {cluster} --tasks {task}`, then release again"
    )]
    MigrationTimeout {
        task: String,
        cluster: String,
        seconds: u64,
    },
    #[error("deploying {phase} of {stack} failed: {detail}{hint}")]
    Deploy {
        phase: Phase,
        stack: String,
        detail: String,
        hint: &'static str,
    },
    #[error(
        "{stack} is not deployed: a release updates a deployed stack; deploy it first with `npx \
         cdk deploy {stack}` (README, first deploy)"
    )]
    NotDeployed { stack: String },
    #[error(
        "{stack} has no output {missing}: it was deployed by an older version of this project; \
         deploy it once with `npx cdk deploy {stack}` (the current image tag), then release"
    )]
    MissingOutputs { stack: String, missing: String },
    #[error(
        "after deploying the migration, {stack} {found}: is `{key}` set in a way `-c` does not \
         override?"
    )]
    UnexpectedState {
        stack: String,
        key: String,
        /// What was expected and what the outputs say.
        found: String,
    },
    #[error(transparent)]
    Aws(#[from] tracker_review::aws::AwsError),
}

impl ReleaseError {
    /// The exit code of `tracker-cdk release` for this error ([`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            ReleaseError::MigrationFailed { .. } => exit::MIGRATION_FAILED,
            ReleaseError::MigrationNotStarted { .. } => exit::MIGRATION_NOT_STARTED,
            ReleaseError::MigrationTimeout { .. } => exit::MIGRATION_TIMEOUT,
            ReleaseError::Deploy { .. } => exit::DEPLOY_FAILED,
            ReleaseError::NotDeployed { .. }
            | ReleaseError::MissingOutputs { .. }
            | ReleaseError::UnexpectedState { .. } => exit::STACK_STATE,
            ReleaseError::Aws(_) => exit::AWS,
        }
    }
}

/// Where and how to run the migration task: the services stack's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationTarget {
    /// `MigrationCluster`.
    pub cluster: String,
    /// `MigrationTaskDefinition`: the ARN of the deployed revision.
    pub task_definition: String,
    /// `MigrationSubnets`.
    pub subnets: Vec<String>,
    /// `MigrationSecurityGroup`.
    pub security_group: String,
    /// `MigrationLogGroup`.
    pub log_group: String,
}

/// What a release reads from the deployed services stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackState {
    /// `ImageTag`: what the services run.
    pub image_tag: String,
    /// `MigrationImageTag`: what the migration task definition runs.
    pub migration_image_tag: String,
    pub migration: MigrationTarget,
}

/// The outputs [`StackState::from_outputs`] reads (the services stack writes them).
pub const OUTPUTS: [&str; 7] = [
    "ImageTag",
    "MigrationImageTag",
    "MigrationCluster",
    "MigrationTaskDefinition",
    "MigrationSubnets",
    "MigrationSecurityGroup",
    "MigrationLogGroup",
];

impl StackState {
    /// From the stack's outputs (key -> value); every missing output is named at once.
    pub fn from_outputs(
        stack: &str,
        outputs: &BTreeMap<String, String>,
    ) -> Result<StackState, ReleaseError> {
        let missing: Vec<&str> = OUTPUTS
            .into_iter()
            .filter(|k| outputs.get(*k).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(ReleaseError::MissingOutputs {
                stack: stack.to_string(),
                missing: missing.join(", "),
            });
        }
        let get = |k: &str| outputs[k].clone();
        Ok(StackState {
            image_tag: get("ImageTag"),
            migration_image_tag: get("MigrationImageTag"),
            migration: MigrationTarget {
                cluster: get("MigrationCluster"),
                task_definition: get("MigrationTaskDefinition"),
                subnets: get("MigrationSubnets")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                security_group: get("MigrationSecurityGroup"),
                log_group: get("MigrationLogGroup"),
            },
        })
    }
}

/// A task's state, as the migration's wait sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Not stopped yet (ECS `lastStatus`: PROVISIONING, PENDING, RUNNING, ...).
    Running(String),
    /// Stopped. `exit_code` is the container's, `None` when the container never ran (or ECS
    /// did not report one); `reason` is the task's stop code and reason.
    Stopped {
        exit_code: Option<i32>,
        reason: String,
    },
}

/// What RunTask did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// A task was started: its ARN.
    Task(String),
    /// ECS started none: its failures (reason, detail).
    Refused(String),
}

/// One look at the running migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poll {
    pub status: TaskStatus,
    /// Log lines of the container written since the previous poll.
    pub log: Vec<String>,
}

/// The effects of a release, in the order [`release`] needs them.
pub trait Steps {
    /// The deployed services stack's outputs ([`StackState::from_outputs`]).
    fn describe(&mut self, stack: &str) -> Result<StackState, ReleaseError>;
    /// `cdk deploy stack` with these context values (`-c key=value`).
    fn deploy(
        &mut self,
        stack: &str,
        phase: Phase,
        context: &[(String, String)],
    ) -> Result<(), ReleaseError>;
    /// Starts the migration task.
    fn run_task(&mut self, target: &MigrationTarget) -> Result<Started, ReleaseError>;
    /// The task's status and the log lines since the previous poll.
    fn poll(&mut self, target: &MigrationTarget, task: &str) -> Result<Poll, ReleaseError>;
    /// Waits between polls.
    fn sleep(&mut self, duration: Duration);
    /// Progress and the container's log, for the person (or CI) running the release.
    fn say(&mut self, line: &str);
}

/// What to release.
#[derive(Clone, Debug)]
pub struct Release {
    /// The services stack, e.g. `TrackerProduction`.
    pub stack: String,
    /// Its environment's context prefix (`production`): the keys set are
    /// `<environment>.imageTag` and `<environment>.migrationImageTag`.
    pub environment: String,
    /// The new image tag (or `sha256:` digest).
    pub image_tag: String,
    /// Between two polls of the migration. Default 6 s.
    pub poll_interval: Duration,
    /// How long the migration may run. Default 30 minutes.
    pub timeout: Duration,
}

impl Release {
    /// A release of `image_tag` to `stack` of `environment`, with the default poll interval and
    /// timeout.
    pub fn new(stack: &str, environment: &str, image_tag: &str) -> Release {
        Release {
            stack: stack.to_string(),
            environment: environment.to_string(),
            image_tag: image_tag.to_string(),
            poll_interval: Duration::from_secs(6),
            timeout: Duration::from_secs(30 * 60),
        }
    }

    fn context(&self, services: &str, migration: &str) -> Vec<(String, String)> {
        vec![
            (self.key("imageTag"), services.to_string()),
            (self.key("migrationImageTag"), migration.to_string()),
        ]
    }

    fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.environment)
    }
}

/// What a successful release did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// The tag the services ran before.
    pub previous_tag: String,
    /// The migration task that ran (its ARN).
    pub migration_task: String,
}

/// Runs the release: migration deploy, run, wait, services deploy (module docs). Stops at the
/// first failure; the services are deployed only after the migration exited 0.
pub fn release(steps: &mut dyn Steps, r: &Release) -> Result<Released, ReleaseError> {
    let before = steps.describe(&r.stack)?;
    let previous = before.image_tag.clone();
    steps.say(&format!(
        "release {} of {}: the services run {previous}; deploying the migration task on {} first",
        r.image_tag, r.stack, r.image_tag
    ));
    steps.deploy(
        &r.stack,
        Phase::Migration,
        &r.context(&previous, &r.image_tag),
    )?;
    let staged = steps.describe(&r.stack)?;
    if staged.migration_image_tag != r.image_tag || staged.image_tag != previous {
        return Err(ReleaseError::UnexpectedState {
            stack: r.stack.clone(),
            key: r.key("migrationImageTag"),
            found: format!(
                "should run the migration on {} and the services on {previous}, but its \
                 outputs say {} and {}",
                r.image_tag, staged.migration_image_tag, staged.image_tag
            ),
        });
    }
    let target = staged.migration;
    let task = match steps.run_task(&target)? {
        Started::Task(task) => task,
        Started::Refused(reason) => {
            return Err(ReleaseError::MigrationNotStarted {
                reason,
                services_tag: previous,
                image_tag: r.image_tag.clone(),
            })
        }
    };
    steps.say(&format!(
        "migration task {task} started in {} ({} subnets, security group {}); its log follows",
        target.cluster,
        target.subnets.len(),
        target.security_group
    ));
    let mut waited = Duration::ZERO;
    let (exit_code, reason) = loop {
        let poll = steps.poll(&target, &task)?;
        for line in &poll.log {
            steps.say(&format!("  | {line}"));
        }
        match poll.status {
            TaskStatus::Stopped { exit_code, reason } => break (exit_code, reason),
            TaskStatus::Running(_) if waited >= r.timeout => {
                return Err(ReleaseError::MigrationTimeout {
                    task,
                    cluster: target.cluster,
                    seconds: waited.as_secs(),
                })
            }
            TaskStatus::Running(_) => {
                steps.sleep(r.poll_interval);
                waited += r.poll_interval;
            }
        }
    };
    match exit_code {
        Some(0) => {}
        Some(code) => {
            return Err(ReleaseError::MigrationFailed {
                task,
                exit_code: code,
                reason: if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                },
                services_tag: previous,
                log_group: target.log_group,
            })
        }
        None => {
            return Err(ReleaseError::MigrationNotStarted {
                reason,
                services_tag: previous,
                image_tag: r.image_tag.clone(),
            })
        }
    }
    steps.say(&format!(
        "migration exited 0; deploying the services on {}",
        r.image_tag
    ));
    steps.deploy(
        &r.stack,
        Phase::Services,
        &r.context(&r.image_tag, &r.image_tag),
    )?;
    steps.say(&format!(
        "released {} to {} (was {previous})",
        r.image_tag, r.stack
    ));
    Ok(Released {
        previous_tag: previous,
        migration_task: task,
    })
}

/// The task id (the last segment) of a task ARN.
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// The log stream of the migration container of task `task_arn` (awslogs prefix `task`,
/// container `task`: see `tracker_constructs::one_off_task`).
pub fn log_stream(task_arn: &str) -> String {
    format!("task/task/{}", task_id(task_arn))
}
