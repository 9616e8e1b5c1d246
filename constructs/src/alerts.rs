//! `AlertTopic`: the environment's alarm topic, and [`Alerts`], the handle every construct sends
//! its alarms through, so no alarm is created without an action.
//!
//! Creates, under the construct id:
//! - `Key`: a customer-managed KMS key (rotation on, retained) encrypting the topic. An AWS
//!   managed key (`alias/aws/sns`) cannot be used: its key policy cannot be changed to let
//!   CloudWatch alarms and EventBridge encrypt what they publish, and they would fail silently.
//!   The key policy grants `kms:Decrypt` and `kms:GenerateDataKey*` to `cloudwatch.amazonaws.com`
//!   and `events.amazonaws.com` (what they need to publish to an encrypted topic).
//! - `Topic`: the SNS topic `<topic_name>`, encrypted with the key, SSL required for publishing;
//!   its policy lets CloudWatch and EventBridge of the same account publish.
//! - one `Email<i>` / `Https<i>` subscription per configured address or endpoint (e-mail
//!   subscriptions wait for the recipient to confirm).
//!
//! The topic's name is fixed (`tracker-<environment>-alerts`), so another stack can import it by
//! ARN ([`Alerts::from_topic_arn`]) without a CloudFormation export.

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::Alarm;
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch_actions::SnsAction;
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    Effect, PolicyStatement, PolicyStatementProps, ServicePrincipal,
};
use cdk_from_rust::aws_cdk_lib::aws_kms::{Key, KeyProps};
use cdk_from_rust::aws_cdk_lib::aws_sns::{
    ITopic, Subscription, SubscriptionProps, SubscriptionPropsRequired, SubscriptionProtocol,
    Topic, TopicProps,
};
use cdk_from_rust::aws_cdk_lib::RemovalPolicy;
use cdk_from_rust::constructs::Construct;

use crate::validation::{Check, ValidationErrors};

const KIND: &str = "AlertTopic";

/// What an e-mail subscription accepts (for error messages).
pub const EMAIL_ALLOWED: &str = "an e-mail address such as oncall@example.com";
/// What an HTTPS subscription accepts (for error messages).
pub const HTTPS_ALLOWED: &str = "an https:// URL with a host, e.g. https://events.example.com/sns";

/// The AWS services that publish alarms and events to the topic.
pub const PUBLISHERS: [&str; 2] = ["cloudwatch.amazonaws.com", "events.amazonaws.com"];

/// Props of [`AlertTopic`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertTopicProps {
    /// The SNS topic's name, 1-256 of `A-Z a-z 0-9 - _`. Required (the stacks use
    /// `tracker-<environment>-alerts`); fixed, so other stacks can import the topic by ARN.
    pub topic_name: String,
    /// E-mail addresses subscribed to every alarm (each confirms once). When empty, nobody gets
    /// e-mail.
    pub emails: Vec<String>,
    /// HTTPS endpoints subscribed (an on-call service's SNS integration URL). When empty, none.
    pub https_endpoints: Vec<String>,
}

impl AlertTopicProps {
    /// A topic named `topic_name` without subscriptions.
    pub fn new(topic_name: &str) -> Self {
        AlertTopicProps {
            topic_name: topic_name.to_string(),
            emails: Vec::new(),
            https_endpoints: Vec::new(),
        }
    }

    /// Every violation of these props.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new(KIND, id);
        c.require(
            !self.topic_name.is_empty()
                && self.topic_name.len() <= 256
                && self
                    .topic_name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "topic_name",
            &self.topic_name,
            "1-256 of A-Z, a-z, 0-9, '-' and '_'",
        );
        for (i, email) in self.emails.iter().enumerate() {
            c.require(
                is_email(email),
                &format!("emails[{i}]"),
                email,
                EMAIL_ALLOWED,
            );
        }
        for (i, url) in self.https_endpoints.iter().enumerate() {
            c.require(
                is_https_url(url),
                &format!("https_endpoints[{i}]"),
                url,
                HTTPS_ALLOWED,
            );
        }
        c.finish()
    }
}

/// Whether `s` looks like an e-mail address (`local@domain.tld`, no whitespace).
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Whether `s` is an `https://` URL with a host.
pub fn is_https_url(s: &str) -> bool {
    s.strip_prefix("https://").is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.contains(char::is_whitespace)
    })
}

/// Where alarms go: the environment's alert topic. Every alarm a construct creates is sent
/// through [`Alerts::notify`], which adds the topic as its ALARM and OK action.
#[derive(Clone, Copy, Debug)]
pub struct Alerts {
    pub topic: ITopic,
}

impl Alerts {
    /// Alerts to `topic`.
    pub fn new(topic: impl Into<ITopic>) -> Self {
        Alerts {
            topic: topic.into(),
        }
    }

    /// The topic `arn` (e.g. of another stack, built from its fixed name), imported under
    /// `scope` as `id`: no CloudFormation export is involved.
    pub fn from_topic_arn(
        scope: impl Into<Construct>,
        id: &str,
        arn: impl Into<cdk_from_rust::JsString>,
    ) -> Self {
        Alerts::new(Topic::from_topic_arn(scope, id, arn))
    }

    /// Sends `alarm`'s ALARM and OK state changes to the topic.
    pub fn notify(&self, alarm: Alarm) -> Alarm {
        alarm.add_alarm_action([SnsAction::new(self.topic)]);
        alarm.add_ok_action([SnsAction::new(self.topic)]);
        alarm
    }
}

/// The environment's alarm topic.
#[derive(Clone, Copy, Debug)]
pub struct AlertTopic {
    pub topic: Topic,
    pub key: Key,
    /// The handle constructs send their alarms through.
    pub alerts: Alerts,
}

impl AlertTopic {
    /// Validates `props` and adds the topic, its key and subscriptions to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        props: &AlertTopicProps,
    ) -> Result<AlertTopic, ValidationErrors> {
        props.validate(id)?;
        let scope = Construct::new(scope, id);
        let key = Key::new_with(
            scope,
            "Key",
            KeyProps::new()
                .description(format!("Encrypts the alert topic {}", props.topic_name))
                .enable_key_rotation(true)
                .removal_policy(RemovalPolicy::Retain),
        );
        for service in PUBLISHERS {
            key.add_to_resource_policy(PolicyStatement::new_with(
                PolicyStatementProps::new()
                    .effect(Effect::Allow)
                    .principals([ServicePrincipal::new(service)])
                    .actions(["kms:Decrypt", "kms:GenerateDataKey*"])
                    .resources(["*"]),
            ));
        }
        let topic = Topic::new_with(
            scope,
            "Topic",
            TopicProps::new()
                .topic_name(props.topic_name.as_str())
                .display_name(props.topic_name.as_str())
                .master_key(key)
                .enforce_ssl(true),
        );
        for service in PUBLISHERS {
            topic.add_to_resource_policy(PolicyStatement::new_with(
                PolicyStatementProps::new()
                    .effect(Effect::Allow)
                    .principals([ServicePrincipal::new(service)])
                    .actions(["sns:Publish"])
                    .resources([topic.topic_arn()]),
            ));
        }
        for (i, email) in props.emails.iter().enumerate() {
            Subscription::new(
                scope,
                format!("Email{i}"),
                SubscriptionProps::new(SubscriptionPropsRequired {
                    endpoint: email.as_str(),
                    protocol: SubscriptionProtocol::Email,
                    topic,
                }),
            );
        }
        for (i, url) in props.https_endpoints.iter().enumerate() {
            Subscription::new(
                scope,
                format!("Https{i}"),
                SubscriptionProps::new(SubscriptionPropsRequired {
                    endpoint: url.as_str(),
                    protocol: SubscriptionProtocol::Https,
                    topic,
                }),
            );
        }
        Ok(AlertTopic {
            topic,
            key,
            alerts: Alerts::new(topic),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rejects_value, synth};
    use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
        AlarmProps, AlarmPropsRequired, Metric, MetricProps, MetricPropsRequired,
    };
    use serde_json::json;

    fn props() -> AlertTopicProps {
        AlertTopicProps {
            emails: vec!["oncall@example.com".into()],
            https_endpoints: vec!["https://events.example.com/sns?key=1".into()],
            ..AlertTopicProps::new("tracker-staging-alerts")
        }
    }

    #[test]
    fn defaults_are_valid() {
        props().validate("Alerts").unwrap();
        AlertTopicProps::new("t").validate("Alerts").unwrap();
    }

    #[test]
    fn fails_on_a_bad_topic_name() {
        for bad in ["", "tracker alerts", "tracker.alerts"] {
            let mut p = props();
            p.topic_name = bad.into();
            let err = p.validate("Alerts").unwrap_err();
            assert_rejects_value(
                &err,
                KIND,
                "Alerts",
                "topic_name",
                &format!("{bad:?}"),
                "1-256 of A-Z, a-z, 0-9, '-' and '_'",
            );
        }
    }

    #[test]
    fn fails_on_bad_emails_and_endpoints_reporting_all_together() {
        let mut p = props();
        p.emails = vec!["oncall".into(), "a@b".into(), "ok@example.com".into()];
        p.https_endpoints = vec!["http://events.example.com".into(), "https://".into()];
        let err = p.validate("Alerts").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "emails[0]",
                "emails[1]",
                "https_endpoints[0]",
                "https_endpoints[1]"
            ]
        );
        assert_rejects_value(
            &err,
            KIND,
            "Alerts",
            "emails[0]",
            "\"oncall\"",
            "an e-mail address",
        );
        assert_rejects_value(
            &err,
            KIND,
            "Alerts",
            "https_endpoints[0]",
            "\"http://events.example.com\"",
            "an https:// URL",
        );
    }

    #[test]
    fn an_encrypted_topic_that_cloudwatch_and_eventbridge_can_publish_to() {
        let t = synth(|stack| {
            let topic = AlertTopic::new(stack, "Alerts", &props()).unwrap();
            let alarm = Alarm::new(
                stack,
                "Alarm",
                AlarmProps::new(AlarmPropsRequired {
                    evaluation_periods: 1,
                    metric: Metric::new(MetricProps::new(MetricPropsRequired {
                        metric_name: "M",
                        namespace: "N",
                    })),
                    threshold: 1,
                }),
            );
            topic.alerts.notify(alarm);
        });
        let topic = &t.one("AWS::SNS::Topic")["Properties"];
        assert_eq!(topic["TopicName"], "tracker-staging-alerts");
        let key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0].as_str().unwrap();
        let key = t.one("AWS::KMS::Key");
        assert_eq!(&t.0["Resources"][key_id], key);
        assert_eq!(key["DeletionPolicy"], "Retain");
        assert_eq!(key["Properties"]["EnableKeyRotation"], true);
        let key_policy = key["Properties"]["KeyPolicy"]["Statement"].to_string();
        let topic_policy =
            t.one("AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"].to_string();
        for service in PUBLISHERS {
            assert!(key_policy.contains(service), "{service}: {key_policy}");
            assert!(topic_policy.contains(service), "{service}: {topic_policy}");
        }
        assert!(key_policy.contains("kms:GenerateDataKey*"));
        assert!(topic_policy.contains("aws:SecureTransport"), "SSL enforced");
        let mut subscriptions: Vec<(String, String)> = t
            .resources("AWS::SNS::Subscription")
            .into_iter()
            .map(|(_, s)| {
                (
                    s["Properties"]["Protocol"].as_str().unwrap().to_string(),
                    s["Properties"]["Endpoint"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        subscriptions.sort();
        assert_eq!(
            subscriptions,
            [
                ("email".into(), "oncall@example.com".into()),
                (
                    "https".into(),
                    "https://events.example.com/sns?key=1".into()
                )
            ]
        );
        let alarm = &t.one("AWS::CloudWatch::Alarm")["Properties"];
        let topic_id = t.resources("AWS::SNS::Topic")[0].0.clone();
        let topic_ref = json!([{ "Ref": topic_id }]);
        assert_eq!(alarm["AlarmActions"], topic_ref);
        assert_eq!(alarm["OKActions"], topic_ref);
    }
}
