//! `WorkQueue`: an SQS queue a worker consumes and other services send to, with its dead-letter
//! queue, encryption, retention and alarms, registered in the environment's [`QueueRegistry`] so
//! services declare their side of it by name (typed edges, like `connects_to`):
//! `ServiceProps::sends_to` (a producer: `sqs:SendMessage`) and
//! `PrivateWorkerServiceProps::consumes` (the consumer: receive, delete, change visibility).
//! Either side gets the queue's URL as `<NAME>_QUEUE_URL` (`notifications` ->
//! `NOTIFICATIONS_QUEUE_URL`).
//!
//! Creates, under the construct id:
//! - `Key`: a customer-managed KMS key (rotation on, retained) encrypting both queues; the grants
//!   of producers and the consumer include the use of this key (an AWS-managed key could not be
//!   granted to roles, and SSE-SQS leaves the queue's `KmsMasterKeyId` empty, which checkov's
//!   CKV_AWS_27 refuses);
//! - `DeadLetterQueue`: where a message goes after `max_receive_count` failed receives, kept
//!   `dead_letter_retention_secs` (longer than the queue's retention: a standard queue keeps a
//!   message's original enqueue time when it moves it, so a shorter retention would drop it on
//!   arrival);
//! - `Queue`: the queue itself (long polling, TLS required, the visibility timeout and
//!   retention of the props, the redrive policy to `DeadLetterQueue`);
//! - `OldestMessageAlarm`: the oldest message waiting longer than `oldest_message_alarm_secs`
//!   (the consumer is stuck, down, or too slow);
//! - `DeadLetterAlarm`: `dead_letter_alarm_messages` or more messages in the dead-letter queue
//!   (messages that failed every attempt);
//!
//! both to the environment's alert topic, and a dashboard row (waiting messages, oldest age,
//! dead letters). Both queues are retained on delete: waiting messages are work not yet done.

use std::cell::RefCell;
use std::collections::BTreeMap;

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, MetricOptions, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_iam::IGrantable;
use cdk_from_rust::aws_cdk_lib::aws_kms::{Key, KeyProps};
use cdk_from_rust::aws_cdk_lib::aws_sqs::{
    DeadLetterQueue, DeadLetterQueueRequired, Queue, QueueEncryption, QueueProps,
};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::monitoring::{self, AlarmSpec};
use crate::platform::Platform;
use crate::validation::{is_dns_label, Check, ValidationErrors, NAME_NOT_TAKEN};

const KIND: &str = "WorkQueue";

/// SQS's shortest and longest retention, seconds (1 minute, 14 days).
pub const RETENTION_RANGE_SECS: (u32, u32) = (60, 1_209_600);
/// SQS's longest visibility timeout, seconds (12 hours).
pub const MAX_VISIBILITY_TIMEOUT_SECS: u32 = 43_200;

/// Props of [`WorkQueue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkQueueProps {
    /// The queue's name in the environment (`notifications`): a DNS label, unique among the
    /// queues; services declare it in `sends_to` / `consumes`, and its URL reaches them as
    /// `<NAME>_QUEUE_URL`. The SQS queue's own name is generated. Required.
    pub name: String,
    /// How long SQS keeps a message not yet deleted, seconds, 60 (1 minute) to 1209600 (14
    /// days). [`WorkQueueProps::new`] sets 345600 (4 days, SQS's default).
    pub retention_secs: u32,
    /// How long the dead-letter queue keeps a message, seconds: longer than `retention_secs`
    /// and at most 1209600. [`WorkQueueProps::new`] sets 1209600 (14 days).
    pub dead_letter_retention_secs: u32,
    /// How long a received message stays hidden from other receivers, seconds, 0-43200: longer
    /// than the consumer needs for one message. [`WorkQueueProps::new`] sets 300.
    pub visibility_timeout_secs: u32,
    /// Receives after which a message moves to the dead-letter queue, 1-1000; with the
    /// visibility timeout, the attempts must fit in the retention period
    /// (`visibility_timeout_secs` x `max_receive_count` < `retention_secs`), or failing messages
    /// would expire instead of reaching the dead-letter queue. [`WorkQueueProps::new`] sets 5.
    pub max_receive_count: u32,
    /// Long polling: how long a receive waits for a message, seconds, 0-20.
    /// [`WorkQueueProps::new`] sets 20 (fewer empty receives).
    pub receive_wait_secs: u32,
    /// Alarm when the oldest message has waited this long, seconds: at least 60 and less than
    /// `retention_secs` (an older message is already gone). [`WorkQueueProps::new`] sets 900.
    pub oldest_message_alarm_secs: u32,
    /// Alarm when the dead-letter queue holds this many messages or more, at least 1.
    /// [`WorkQueueProps::new`] sets 1 (every dead letter is a message that failed every attempt).
    pub dead_letter_alarm_messages: u32,
}

impl WorkQueueProps {
    /// A queue `name` with every documented default.
    pub fn new(name: &str) -> Self {
        WorkQueueProps {
            name: name.to_string(),
            retention_secs: 4 * 86_400,
            dead_letter_retention_secs: RETENTION_RANGE_SECS.1,
            visibility_timeout_secs: 300,
            max_receive_count: 5,
            receive_wait_secs: 20,
            oldest_message_alarm_secs: 900,
            dead_letter_alarm_messages: 1,
        }
    }

    /// Every violation of these props.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new(KIND, id);
        self.validate_into(&mut c);
        c.finish()
    }

    fn validate_into(&self, c: &mut Check) {
        let (min, max) = RETENTION_RANGE_SECS;
        c.require(
            is_dns_label(&self.name),
            "name",
            &self.name,
            "a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'",
        );
        c.require(
            (min..=max).contains(&self.retention_secs),
            "retention_secs",
            self.retention_secs,
            format!("{min}-{max} seconds (1 minute to 14 days)"),
        );
        c.require(
            self.dead_letter_retention_secs > self.retention_secs
                && self.dead_letter_retention_secs <= max,
            "dead_letter_retention_secs",
            self.dead_letter_retention_secs,
            format!(
                "more than retention_secs ({}) and at most {max} seconds: a standard queue keeps \
                 a message's original enqueue time when it moves it, so a dead-letter queue that \
                 keeps messages no longer than the queue drops them on arrival",
                self.retention_secs
            ),
        );
        c.require(
            self.visibility_timeout_secs <= MAX_VISIBILITY_TIMEOUT_SECS,
            "visibility_timeout_secs",
            self.visibility_timeout_secs,
            format!("0-{MAX_VISIBILITY_TIMEOUT_SECS} seconds (12 hours)"),
        );
        if !(1..=1000).contains(&self.max_receive_count) {
            c.fail("max_receive_count", self.max_receive_count, "1-1000");
        } else {
            let attempts =
                u64::from(self.visibility_timeout_secs) * u64::from(self.max_receive_count);
            c.require(
                attempts < u64::from(self.retention_secs),
                "max_receive_count",
                self.max_receive_count,
                format!(
                    "attempts that fit in the retention period: {} receives x {} s visibility \
                     timeout = {attempts} s is not less than retention_secs ({} s), so a failing \
                     message would expire before it reaches the dead-letter queue; lower \
                     max_receive_count or visibility_timeout_secs, or raise retention_secs",
                    self.max_receive_count, self.visibility_timeout_secs, self.retention_secs
                ),
            );
        }
        c.require(
            self.receive_wait_secs <= 20,
            "receive_wait_secs",
            self.receive_wait_secs,
            "0-20 seconds",
        );
        c.require(
            self.oldest_message_alarm_secs >= 60
                && self.oldest_message_alarm_secs < self.retention_secs,
            "oldest_message_alarm_secs",
            self.oldest_message_alarm_secs,
            format!(
                "at least 60 seconds and less than retention_secs ({} s): a message older than \
                 the retention period is already deleted, so the alarm would never fire",
                self.retention_secs
            ),
        );
        c.require(
            self.dead_letter_alarm_messages >= 1,
            "dead_letter_alarm_messages",
            self.dead_letter_alarm_messages,
            "at least 1 message",
        );
    }

    /// The environment variable carrying the queue's URL (`notifications` ->
    /// `NOTIFICATIONS_QUEUE_URL`).
    pub fn url_variable(&self) -> String {
        url_variable(&self.name)
    }
}

/// The environment variable carrying the URL of the queue `name`.
pub fn url_variable(name: &str) -> String {
    format!("{}_QUEUE_URL", name.to_ascii_uppercase().replace('-', "_"))
}

/// A work queue, its dead-letter queue and their key.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    /// The name services declare it by.
    pub name: String,
    pub queue: Queue,
    pub dead_letter_queue: Queue,
    pub key: Key,
}

impl WorkQueue {
    /// Validates `props` (and that the name is free in `platform`'s queues), adds the queues,
    /// key, alarms and dashboard row to `scope`, and registers the queue in `platform.queues`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: &WorkQueueProps,
    ) -> Result<WorkQueue, ValidationErrors> {
        let mut c = Check::new(KIND, id);
        props.validate_into(&mut c);
        if platform.queues.get(&props.name).is_some() {
            c.fail("name", &props.name, NAME_NOT_TAKEN);
        }
        c.finish()?;

        let scope = Construct::new(scope, id);
        let what = format!("{} queue {}", platform.environment, props.name);
        let key = Key::new_with(
            scope,
            "Key",
            KeyProps::new()
                .description(format!("Encrypts the {what} and its dead-letter queue"))
                .enable_key_rotation(true)
                .removal_policy(RemovalPolicy::Retain),
        );
        let encrypted = |p: QueueProps| {
            p.encryption(QueueEncryption::Kms)
                .encryption_master_key(key)
                .enforce_ssl(true)
                .removal_policy(RemovalPolicy::Retain)
        };
        let dead_letter_queue = Queue::new_with(
            scope,
            "DeadLetterQueue",
            encrypted(QueueProps::new())
                .retention_period(Duration::seconds(props.dead_letter_retention_secs)),
        );
        let queue = Queue::new_with(
            scope,
            "Queue",
            encrypted(QueueProps::new())
                .retention_period(Duration::seconds(props.retention_secs))
                .visibility_timeout(Duration::seconds(props.visibility_timeout_secs))
                .receive_message_wait_time(Duration::seconds(props.receive_wait_secs))
                .dead_letter_queue(DeadLetterQueue::new(DeadLetterQueueRequired {
                    max_receive_count: props.max_receive_count,
                    queue: dead_letter_queue,
                })),
        );

        let maximum = || {
            MetricOptions::new()
                .statistic("Maximum")
                .period(Duration::minutes(5))
        };
        let age = queue.metric_approximate_age_of_oldest_message_with(maximum());
        let dead = dead_letter_queue.metric_approximate_number_of_messages_visible_with(maximum());
        let waiting = queue.metric_approximate_number_of_messages_visible_with(maximum());
        let oldest = props.oldest_message_alarm_secs;
        monitoring::alarm(
            scope,
            &platform.alerts,
            AlarmSpec {
                id: "OldestMessageAlarm".into(),
                metric: age.into(),
                threshold: f64::from(oldest),
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: the oldest message has waited {oldest} s or more. Its consumer is \
                     down, stuck or too slow: look at the consumer's running tasks, logs and \
                     scaling (maxCount)."
                ),
            },
        );
        let dead_letters = props.dead_letter_alarm_messages;
        monitoring::alarm(
            scope,
            &platform.alerts,
            AlarmSpec {
                id: "DeadLetterAlarm".into(),
                metric: dead.into(),
                threshold: f64::from(dead_letters),
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: {dead_letters} or more messages in the dead-letter queue, each \
                     received {} times without being deleted. Read them (aws sqs \
                     receive-message), fix the cause in the consumer's logs, then redrive them \
                     (aws sqs start-message-move-task).",
                    props.max_receive_count
                ),
            },
        );
        platform.dashboard.add_row(
            &format!("{} (queue)", props.name),
            vec![
                ("Waiting messages".into(), vec![waiting.into()]),
                ("Oldest message (s)".into(), vec![age.into()]),
                ("Dead letters".into(), vec![dead.into()]),
            ],
        );
        let work_queue = WorkQueue {
            name: props.name.clone(),
            queue,
            dead_letter_queue,
            key,
        };
        platform.queues.register(work_queue.clone());
        Ok(work_queue)
    }

    /// The environment variable carrying its URL.
    pub fn url_variable(&self) -> String {
        url_variable(&self.name)
    }

    /// Its URL (a token).
    pub fn url(&self) -> JsString {
        self.queue.queue_url()
    }

    /// Lets `grantee` send messages: `sqs:SendMessage`, `GetQueueAttributes` and `GetQueueUrl`
    /// on the queue, `kms:GenerateDataKey` and `kms:Decrypt` on its key (what SQS needs to
    /// encrypt a message for the sender). Named actions only: aws-cdk-lib's
    /// `grantSendMessages` adds `kms:ReEncrypt*` and `kms:GenerateDataKey*`, wildcards a sender
    /// does not need.
    pub fn grant_send(&self, grantee: impl Into<IGrantable>) {
        let grantee = grantee.into();
        self.queue.grant(grantee, SEND_ACTIONS);
        self.key
            .grant(grantee, ["kms:GenerateDataKey", "kms:Decrypt"]);
    }

    /// Lets `grantee` consume messages: receive, delete, change visibility, queue attributes
    /// and URL on the queue, `kms:Decrypt` on its key.
    pub fn grant_consume(&self, grantee: impl Into<IGrantable>) {
        let grantee = grantee.into();
        self.queue.grant(grantee, CONSUME_ACTIONS);
        self.key.grant(grantee, ["kms:Decrypt"]);
    }
}

/// What a producer may do on the queue.
pub const SEND_ACTIONS: [&str; 3] = [
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
];

/// What the consumer may do on the queue.
pub const CONSUME_ACTIONS: [&str; 5] = [
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
];

/// The work queues of one environment, by name. Lives in the `Platform`.
#[derive(Default, Debug)]
pub struct QueueRegistry {
    queues: RefCell<BTreeMap<String, WorkQueue>>,
}

impl QueueRegistry {
    fn register(&self, queue: WorkQueue) {
        self.queues.borrow_mut().insert(queue.name.clone(), queue);
    }

    /// The queue named `name`.
    pub fn get(&self, name: &str) -> Option<WorkQueue> {
        self.queues.borrow().get(name).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.queues.borrow().keys().cloned().collect()
    }

    /// Records a violation of `field` for each of `names` that is not a declared queue, or is
    /// named twice; returns the declared ones.
    pub fn resolve(&self, check: &mut Check, field: &str, names: &[String]) -> Vec<WorkQueue> {
        let mut resolved: Vec<WorkQueue> = Vec::new();
        for name in names {
            if resolved.iter().any(|q| &q.name == name) {
                check.fail(field, name, "each queue named once");
                continue;
            }
            match self.get(name) {
                Some(q) => resolved.push(q),
                None => {
                    let names = self.names();
                    check.fail(
                        field,
                        name,
                        if names.is_empty() {
                            "a queue declared earlier in the environment (none is declared)"
                                .to_string()
                        } else {
                            format!("one of the queues declared so far: {}", names.join(", "))
                        },
                    );
                }
            }
        }
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::private_worker_service::{PrivateWorkerService, PrivateWorkerServiceProps};
    use crate::service::test_support::{platform, recorded};
    use crate::task_size::TaskSize;
    use crate::testing::{assert_rejects_value, synth};
    use serde_json::{json, Value};

    fn has(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        assert_rejects_value(err, KIND, "Jobs", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid() {
        let p = WorkQueueProps::new("notifications");
        p.validate("Jobs").unwrap();
        assert_eq!(p.url_variable(), "NOTIFICATIONS_QUEUE_URL");
        assert_eq!(url_variable("push-v2"), "PUSH_V2_QUEUE_URL");
    }

    #[test]
    fn fails_on_ranges_of_every_field_at_once() {
        let p = WorkQueueProps {
            name: "Jobs_1".into(),
            retention_secs: 59,
            dead_letter_retention_secs: 1_209_601,
            visibility_timeout_secs: 43_201,
            max_receive_count: 0,
            receive_wait_secs: 21,
            oldest_message_alarm_secs: 30,
            dead_letter_alarm_messages: 0,
        };
        let e = p.validate("Jobs").unwrap_err();
        has(&e, "name", "\"Jobs_1\"", "a DNS label");
        has(&e, "retention_secs", "59", "60-1209600 seconds");
        has(
            &e,
            "dead_letter_retention_secs",
            "1209601",
            "at most 1209600 seconds",
        );
        has(&e, "visibility_timeout_secs", "43201", "0-43200 seconds");
        has(&e, "max_receive_count", "0", "1-1000");
        has(&e, "receive_wait_secs", "21", "0-20 seconds");
        has(&e, "oldest_message_alarm_secs", "30", "at least 60 seconds");
        has(&e, "dead_letter_alarm_messages", "0", "at least 1 message");
        assert_eq!(e.0.len(), 8, "{e}");
    }

    #[test]
    fn fails_on_a_dead_letter_queue_keeping_messages_no_longer_than_the_queue() {
        let mut p = WorkQueueProps::new("jobs");
        p.retention_secs = 1_209_600;
        let e = p.validate("Jobs").unwrap_err();
        has(
            &e,
            "dead_letter_retention_secs",
            "1209600",
            "more than retention_secs (1209600)",
        );
        assert_eq!(e.0.len(), 1, "{e}");
    }

    #[test]
    fn fails_when_the_receive_attempts_outlast_the_retention_period() {
        let mut p = WorkQueueProps::new("jobs");
        p.retention_secs = 3600;
        p.visibility_timeout_secs = 900;
        p.max_receive_count = 4;
        let e = p.validate("Jobs").unwrap_err();
        has(
            &e,
            "max_receive_count",
            "4",
            "4 receives x 900 s visibility timeout = 3600 s is not less than retention_secs \
             (3600 s), so a failing message would expire before it reaches the dead-letter queue",
        );
        p.max_receive_count = 3;
        p.validate("Jobs").unwrap();
        // An alarm past the retention period never fires.
        p.oldest_message_alarm_secs = 3600;
        let e = p.validate("Jobs").unwrap_err();
        has(
            &e,
            "oldest_message_alarm_secs",
            "3600",
            "less than retention_secs (3600 s)",
        );
    }

    fn worker(name: &str) -> PrivateWorkerServiceProps {
        PrivateWorkerServiceProps::new(name, TaskSize::HALF_1, "repo/app:1")
            .with_health_command("true")
    }

    #[test]
    fn fails_on_unknown_queues_of_producers_and_consumers_and_a_taken_name() {
        let (taken, unknown, none_declared) = recorded(|stack| {
            let platform = platform(stack);
            let mut p = worker("first");
            p.consumes = Some("jobs".into());
            p.service.sends_to = vec!["jobs".into()];
            let none = PrivateWorkerService::new(stack, "First", &platform, p).unwrap_err();
            WorkQueue::new(stack, "Jobs", &platform, &WorkQueueProps::new("jobs")).unwrap();
            let taken = WorkQueue::new(stack, "Again", &platform, &WorkQueueProps::new("jobs"))
                .unwrap_err();
            let mut p = worker("consumer");
            p.consumes = Some("mail".into());
            p.service.sends_to = vec!["jobs".into(), "push".into(), "jobs".into()];
            p.service
                .environment
                .insert("JOBS_QUEUE_URL".into(), "x".into());
            p.service
                .environment
                .insert("MAIL_QUEUE_URL".into(), "x".into());
            let unknown = PrivateWorkerService::new(stack, "Consumer", &platform, p).unwrap_err();
            (taken, unknown, none)
        });
        assert_rejects_value(
            &taken,
            KIND,
            "Again",
            "name",
            "\"jobs\"",
            crate::validation::NAME_NOT_TAKEN,
        );
        let kind = "PrivateWorkerService";
        let has = |field: &str, value: &str, allowed: &str| {
            assert_rejects_value(&unknown, kind, "Consumer", field, value, allowed)
        };
        has(
            "service.sends_to",
            "\"push\"",
            "one of the queues declared so far: jobs",
        );
        has("service.sends_to", "\"jobs\"", "each queue named once");
        has(
            "consumes",
            "\"mail\"",
            "one of the queues declared so far: jobs",
        );
        has(
            "service.environment",
            "\"JOBS_QUEUE_URL\"",
            "a name not set from `sends_to`",
        );
        has(
            "service.environment",
            "\"MAIL_QUEUE_URL\"",
            "a name not set from `consumes`",
        );
        assert_eq!(unknown.0.len(), 5, "{unknown}");
        assert_rejects_value(
            &none_declared,
            kind,
            "First",
            "consumes",
            "\"jobs\"",
            "none is declared",
        );
    }

    /// The IAM actions granted by the policies attached to the role whose path contains `part`.
    fn granted(t: &crate::testing::Template, part: &str) -> Vec<String> {
        let policies = t.at_path("AWS::IAM::Policy", part);
        let mut actions: Vec<String> = policies
            .iter()
            .flat_map(|p| {
                p["Properties"]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                _ => vec![],
            })
            .collect();
        actions.sort();
        actions
    }

    #[test]
    fn a_consumed_encrypted_queue_with_its_dead_letter_queue_alarms_grants_and_scaling() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let jobs =
                WorkQueue::new(stack, "Jobs", &platform, &WorkQueueProps::new("jobs")).unwrap();
            let mut consumer = worker("consumer");
            consumer.consumes = Some("jobs".into());
            consumer.service.desired_count = 1;
            consumer.scaling =
                crate::private_worker_service::WorkerScaling::on_queue(&jobs, 1, 4, 50);
            PrivateWorkerService::new(stack, "Consumer", &platform, consumer).unwrap();
            let mut producer = worker("producer");
            producer.service.sends_to = vec!["jobs".into()];
            PrivateWorkerService::new(stack, "Producer", &platform, producer).unwrap();
        });
        let queues = t.at_path("AWS::SQS::Queue", "/Jobs/");
        assert_eq!(queues.len(), 2);
        let queue = t.at_path("AWS::SQS::Queue", "/Jobs/Queue/")[0];
        let dlq = t.at_path("AWS::SQS::Queue", "/Jobs/DeadLetterQueue/")[0];
        let key_id = t
            .resources("AWS::KMS::Key")
            .into_iter()
            .find(|(_, k)| {
                k["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .unwrap()
                    .contains("/Jobs/Key/")
            })
            .unwrap()
            .0
            .clone();
        for q in [queue, dlq] {
            assert_eq!(q["DeletionPolicy"], "Retain");
            assert_eq!(
                q["Properties"]["KmsMasterKeyId"],
                json!({"Fn::GetAtt": [key_id, "Arn"]})
            );
        }
        let props = &queue["Properties"];
        assert_eq!(props["MessageRetentionPeriod"], 345_600);
        assert_eq!(props["VisibilityTimeout"], 300);
        assert_eq!(props["ReceiveMessageWaitTimeSeconds"], 20);
        assert_eq!(props["RedrivePolicy"]["maxReceiveCount"], 5);
        assert_eq!(dlq["Properties"]["MessageRetentionPeriod"], 1_209_600);
        // TLS required on both.
        let policies: Vec<String> = t
            .resources("AWS::SQS::QueuePolicy")
            .into_iter()
            .map(|(_, p)| p.to_string())
            .collect();
        assert_eq!(policies.len(), 2);
        assert!(policies.iter().all(|p| p.contains("aws:SecureTransport")));

        // Both alarms, to the alert topic.
        let alarm = |id: &str| {
            &t.at_path("AWS::CloudWatch::Alarm", &format!("/Jobs/{id}/"))[0]["Properties"]
        };
        let age = alarm("OldestMessageAlarm");
        assert_eq!(age["MetricName"], "ApproximateAgeOfOldestMessage");
        assert_eq!(age["Threshold"], 900);
        let dead = alarm("DeadLetterAlarm");
        assert_eq!(dead["MetricName"], "ApproximateNumberOfMessagesVisible");
        assert_eq!(dead["Threshold"], 1);
        assert_eq!(
            dead["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap(),
            t.resources("AWS::SQS::Queue")
                .into_iter()
                .find(|(_, q)| std::ptr::eq(*q, dlq))
                .unwrap()
                .0
        );
        for a in [age, dead] {
            assert_eq!(a["AlarmActions"].as_array().unwrap().len(), 1);
            assert_eq!(a["OKActions"], a["AlarmActions"]);
        }

        // The consumer receives and deletes, the producer sends; each has the URL.
        let consumer = granted(&t, "/Consumer/TaskDefinition/TaskRole/");
        for action in [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "kms:Decrypt",
        ] {
            assert!(
                consumer.contains(&action.to_string()),
                "{action}: {consumer:?}"
            );
        }
        assert!(!consumer.contains(&"sqs:SendMessage".to_string()));
        // Named actions only (no kms:GenerateDataKey* / kms:ReEncrypt* for cdk-nag's IAM5).
        let producer_and_consumer = [
            granted(&t, "/Producer/TaskDefinition/TaskRole/"),
            consumer.clone(),
        ];
        for actions in &producer_and_consumer {
            assert!(actions.iter().all(|a| !a.contains('*')), "{actions:?}");
        }
        let producer = granted(&t, "/Producer/TaskDefinition/TaskRole/");
        assert!(
            producer.contains(&"sqs:SendMessage".to_string()),
            "{producer:?}"
        );
        assert!(!producer.contains(&"sqs:ReceiveMessage".to_string()));
        let queue_id = t
            .resources("AWS::SQS::Queue")
            .into_iter()
            .find(|(_, q)| std::ptr::eq(*q, queue))
            .unwrap()
            .0
            .clone();
        for part in ["/Consumer/", "/Producer/"] {
            let env = &t.at_path("AWS::ECS::TaskDefinition", part)[0]["Properties"]
                ["ContainerDefinitions"][0]["Environment"];
            assert!(
                env.as_array()
                    .unwrap()
                    .contains(&json!({"Name": "JOBS_QUEUE_URL", "Value": {"Ref": queue_id}})),
                "{part}: {env}"
            );
        }
        // Scaling on the queue's depth.
        let target = &t.one("AWS::ApplicationAutoScaling::ScalableTarget")["Properties"];
        assert_eq!(target["MaxCapacity"], 4);
        assert!(t.resources("AWS::CloudWatch::Alarm").iter().any(|(_, a)| {
            a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && a["Properties"]["Threshold"] == 50
        }));
    }
}
