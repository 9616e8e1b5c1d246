//! The real steps of a release: the CDK CLI for the deploys ([`crate::cdk::CdkCli`]);
//! CloudFormation `DescribeStacks`, ECS `RunTask` / `DescribeTasks` and CloudWatch Logs
//! `GetLogEvents` through the AWS SDK for Rust, configured by the same standard chain as the
//! online review (`tracker_review::aws::load`: environment keys, profiles, SSO, web identity;
//! `AWS_ENDPOINT_URL` when set).
//!
//! Behind the cargo feature `aws`: without it [`AwsSteps::new`] says how to get a build that has
//! it, before anything is deployed.

use crate::cdk::CdkCli;
#[cfg(feature = "aws")]
pub use sdk::AwsSteps;

#[cfg(not(feature = "aws"))]
/// The release's AWS steps; this build has none.
#[derive(Debug)]
pub struct AwsSteps {
    _none: (),
}

#[cfg(not(feature = "aws"))]
impl AwsSteps {
    /// Always [`tracker_review::aws::AwsError::NotBuilt`]: built without the `aws` feature.
    pub fn new(_region: Option<&str>, _cdk: CdkCli) -> Result<AwsSteps, crate::ReleaseError> {
        Err(tracker_review::aws::AwsError::NotBuilt.into())
    }
}

#[cfg(not(feature = "aws"))]
impl crate::Steps for AwsSteps {
    fn describe(&mut self, _: &str) -> Result<crate::StackState, crate::ReleaseError> {
        Err(tracker_review::aws::AwsError::NotBuilt.into())
    }
    fn deploy(
        &mut self,
        _: &str,
        _: crate::Phase,
        _: &[(String, String)],
    ) -> Result<(), crate::ReleaseError> {
        Err(tracker_review::aws::AwsError::NotBuilt.into())
    }
    fn run_task(
        &mut self,
        _: &crate::MigrationTarget,
    ) -> Result<crate::Started, crate::ReleaseError> {
        Err(tracker_review::aws::AwsError::NotBuilt.into())
    }
    fn poll(
        &mut self,
        _: &crate::MigrationTarget,
        _: &str,
    ) -> Result<crate::Poll, crate::ReleaseError> {
        Err(tracker_review::aws::AwsError::NotBuilt.into())
    }
    fn sleep(&mut self, _: std::time::Duration) {}
    fn say(&mut self, _: &str) {}
}

#[cfg(feature = "aws")]
mod sdk {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use aws_sdk_cloudformation::error::ProvideErrorMetadata;
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration,
    };
    use tracker_review::aws::{load, sdk_error, AwsError};

    use super::CdkCli;
    use crate::{
        log_stream, MigrationTarget, Phase, Poll, ReleaseError, StackState, Started, Steps,
        TaskStatus,
    };

    /// The container of the migration task (`tracker_constructs::one_off_task::CONTAINER_NAME`).
    const CONTAINER: &str = "task";

    /// CloudFormation, ECS and CloudWatch Logs clients on one single-threaded runtime, and the
    /// CDK CLI for the deploys. Progress goes to standard error.
    pub struct AwsSteps {
        cdk: CdkCli,
        cloudformation: aws_sdk_cloudformation::Client,
        ecs: aws_sdk_ecs::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
        runtime: tokio::runtime::Runtime,
        /// GetLogEvents' forward token of the stream being followed.
        log_token: Option<String>,
    }

    impl AwsSteps {
        /// From the standard chain (`region` overrides it); `cdk` runs the deploys.
        pub fn new(region: Option<&str>, cdk: CdkCli) -> Result<AwsSteps, ReleaseError> {
            let (config, runtime) = load(region)?;
            Ok(AwsSteps {
                cdk,
                cloudformation: aws_sdk_cloudformation::Client::new(&config),
                ecs: aws_sdk_ecs::Client::new(&config),
                logs: aws_sdk_cloudwatchlogs::Client::new(&config),
                runtime,
                log_token: None,
            })
        }

        /// The container's log lines after the last forward token (none while the stream does
        /// not exist yet: the container has not started).
        fn new_log_lines(&mut self, group: &str, task: &str) -> Result<Vec<String>, ReleaseError> {
            let stream = log_stream(task);
            let mut lines = Vec::new();
            // GetLogEvents returns the same token when there is nothing more.
            for _ in 0..100 {
                let result = self.runtime.block_on(
                    self.logs
                        .get_log_events()
                        .log_group_name(group)
                        .log_stream_name(&stream)
                        .start_from_head(true)
                        .set_next_token(self.log_token.clone())
                        .send(),
                );
                let page = match result {
                    Ok(page) => page,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception()) =>
                    {
                        return Ok(lines)
                    }
                    Err(e) => return Err(sdk_error("CloudWatch Logs GetLogEvents", e).into()),
                };
                lines.extend(
                    page.events()
                        .iter()
                        .filter_map(|e| e.message())
                        .map(|m| m.trim_end().to_string()),
                );
                let next = page.next_forward_token().map(str::to_string);
                if next.is_none() || next == self.log_token {
                    break;
                }
                self.log_token = next;
            }
            Ok(lines)
        }
    }

    impl Steps for AwsSteps {
        fn describe(&mut self, stack: &str) -> Result<StackState, ReleaseError> {
            let result = self.runtime.block_on(
                self.cloudformation
                    .describe_stacks()
                    .stack_name(stack)
                    .send(),
            );
            let out = match result {
                Ok(out) => out,
                // CloudFormation answers a missing stack with a ValidationError.
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.code() == Some("ValidationError")
                            && s.message().is_some_and(|m| m.contains("does not exist"))
                    }) =>
                {
                    return Err(ReleaseError::NotDeployed {
                        stack: stack.to_string(),
                    })
                }
                Err(e) => return Err(sdk_error("CloudFormation DescribeStacks", e).into()),
            };
            let Some(found) = out.stacks().first() else {
                return Err(ReleaseError::NotDeployed {
                    stack: stack.to_string(),
                });
            };
            let outputs: BTreeMap<String, String> = found
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect();
            StackState::from_outputs(stack, &outputs)
        }

        fn deploy(
            &mut self,
            stack: &str,
            phase: Phase,
            context: &[(String, String)],
        ) -> Result<(), ReleaseError> {
            self.cdk.deploy(stack, phase, context)
        }

        fn run_task(&mut self, target: &MigrationTarget) -> Result<Started, ReleaseError> {
            let network = AwsVpcConfiguration::builder()
                .set_subnets(Some(target.subnets.clone()))
                .security_groups(&target.security_group)
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .map_err(|e| AwsError::Transport {
                    action: "ECS RunTask".into(),
                    message: e.to_string(),
                })?;
            let out = self
                .runtime
                .block_on(
                    self.ecs
                        .run_task()
                        .cluster(&target.cluster)
                        .task_definition(&target.task_definition)
                        .launch_type(LaunchType::Fargate)
                        .network_configuration(
                            NetworkConfiguration::builder()
                                .awsvpc_configuration(network)
                                .build(),
                        )
                        .started_by("tracker-cdk-release")
                        .send(),
                )
                .map_err(|e| sdk_error("ECS RunTask", e))?;
            self.log_token = None;
            Ok(match out.tasks().first().and_then(|t| t.task_arn()) {
                Some(arn) => Started::Task(arn.to_string()),
                None => Started::Refused(
                    out.failures()
                        .iter()
                        .map(|f| {
                            format!(
                                "RunTask: {} {}",
                                f.reason().unwrap_or("no task"),
                                f.detail().unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            })
        }

        fn poll(&mut self, target: &MigrationTarget, task: &str) -> Result<Poll, ReleaseError> {
            let out = self
                .runtime
                .block_on(
                    self.ecs
                        .describe_tasks()
                        .cluster(&target.cluster)
                        .tasks(task)
                        .send(),
                )
                .map_err(|e| sdk_error("ECS DescribeTasks", e))?;
            let log = self.new_log_lines(&target.log_group, task)?;
            let Some(t) = out.tasks().first() else {
                return Ok(Poll {
                    status: TaskStatus::Stopped {
                        exit_code: None,
                        reason: format!("ECS no longer knows the task {task}"),
                    },
                    log,
                });
            };
            let last = t.last_status().unwrap_or("UNKNOWN").to_string();
            if last != "STOPPED" {
                return Ok(Poll {
                    status: TaskStatus::Running(last),
                    log,
                });
            }
            let container = t
                .containers()
                .iter()
                .find(|c| c.name() == Some(CONTAINER))
                .or(t.containers().first());
            let reason = [
                t.stop_code().map(|c| c.as_str().to_string()),
                t.stopped_reason().map(str::to_string),
                container.and_then(|c| c.reason()).map(str::to_string),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
            Ok(Poll {
                status: TaskStatus::Stopped {
                    exit_code: container.and_then(|c| c.exit_code()),
                    reason,
                },
                log,
            })
        }

        fn sleep(&mut self, duration: Duration) {
            std::thread::sleep(duration);
        }

        fn say(&mut self, line: &str) {
            eprintln!("{line}");
        }
    }
}
