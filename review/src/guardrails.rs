//! Guardrails: protective settings per resource type whose weakening the review flags even when
//! nothing is replaced and no grant is added: public access blocks, WAF blocking rules and
//! default actions, encryption, deletion and termination protection, backup and log retention,
//! and the `DeletionPolicy`/`UpdateReplacePolicy` of a resource that holds data. Each weakening
//! is classified as widening (something becomes reachable or readable) or as a data-loss risk
//! (data becomes easier to lose), with its own message.
//!
//! Values known before deploy (parameter defaults, pseudo parameters, conditions) are resolved by
//! the caller ([`crate::known`]); a value still only known at deploy time on either side is not
//! judged but reported as unknown when it changed.

use serde_json::Value;

use crate::diff::{has_intrinsic, values_at};
use crate::report::{Risk, Weakened};

/// How a setting is weakened.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// On (one of the values, compared case-insensitively) before; off or gone after.
    On(&'static [&'static str]),
    /// Set before; gone after.
    Present,
    /// A number that must not shrink; `None` = absent means unlimited, `Some(d)` = absent
    /// means `d`.
    AtLeast(Option<f64>),
    /// In a `[{Key, Value}]` list (load-balancer attributes): key's value on before, not after.
    Attribute(&'static str, &'static str),
    /// WAF rules: a rule that blocks (action `Block`, or a rule group or managed rule group
    /// without `OverrideAction: Count`) before and no longer blocks or is gone after.
    WafBlockingRules,
    /// WAF default action: `Block` before, `Allow` after.
    WafDefaultBlock,
}

/// One guarded setting.
#[derive(Clone, Copy, Debug)]
pub struct Guard {
    pub type_: &'static str,
    /// The property path (`/`-separated; `*` = every element).
    pub path: &'static str,
    pub check: Check,
    pub risk: Risk,
    /// What the weakening means.
    pub message: &'static str,
}

const fn g(
    type_: &'static str,
    path: &'static str,
    check: Check,
    risk: Risk,
    message: &'static str,
) -> Guard {
    Guard {
        type_,
        path,
        check,
        risk,
        message,
    }
}

const TRUE: &[&str] = &["true"];
const W: Risk = Risk::Widening;
const D: Risk = Risk::DataLoss;

const PAB: &str =
    "the S3 public access block is weakened: public ACLs or public bucket policies take effect";

/// The table of guarded settings.
pub const GUARDS: &[Guard] = &[
    // Public access blocks.
    g("AWS::S3::Bucket", "PublicAccessBlockConfiguration/BlockPublicAcls", Check::On(TRUE), W, PAB),
    g("AWS::S3::Bucket", "PublicAccessBlockConfiguration/BlockPublicPolicy", Check::On(TRUE), W, PAB),
    g("AWS::S3::Bucket", "PublicAccessBlockConfiguration/IgnorePublicAcls", Check::On(TRUE), W, PAB),
    g("AWS::S3::Bucket", "PublicAccessBlockConfiguration/RestrictPublicBuckets", Check::On(TRUE), W, PAB),
    g("AWS::S3::AccessPoint", "PublicAccessBlockConfiguration/BlockPublicAcls", Check::On(TRUE), W, PAB),
    g("AWS::S3::AccessPoint", "PublicAccessBlockConfiguration/BlockPublicPolicy", Check::On(TRUE), W, PAB),
    g("AWS::S3::AccessPoint", "PublicAccessBlockConfiguration/IgnorePublicAcls", Check::On(TRUE), W, PAB),
    g("AWS::S3::AccessPoint", "PublicAccessBlockConfiguration/RestrictPublicBuckets", Check::On(TRUE), W, PAB),
    // WAF.
    g("AWS::WAFv2::WebACL", "Rules", Check::WafBlockingRules, W,
      "a blocking WAF rule is removed or no longer blocks: the requests it stopped reach the application"),
    g("AWS::WAFv2::WebACL", "DefaultAction", Check::WafDefaultBlock, W,
      "the WAF default action changes from Block to Allow: requests no rule matches are let through"),
    // Encryption.
    g("AWS::S3::Bucket", "BucketEncryption", Check::Present, W,
      "the bucket's encryption settings are removed (objects fall back to S3-managed keys: whoever can read the bucket reads them, without a KMS grant)"),
    g("AWS::EC2::Volume", "Encrypted", Check::On(TRUE), W, "EBS encryption is turned off"),
    g("AWS::EFS::FileSystem", "Encrypted", Check::On(TRUE), W, "EFS encryption at rest is turned off"),
    g("AWS::RDS::DBInstance", "StorageEncrypted", Check::On(TRUE), W, "RDS storage encryption is turned off"),
    g("AWS::RDS::DBCluster", "StorageEncrypted", Check::On(TRUE), W, "RDS storage encryption is turned off"),
    g("AWS::DynamoDB::Table", "SSESpecification/SSEEnabled", Check::On(TRUE), W, "DynamoDB encryption with a KMS key is turned off"),
    g("AWS::SQS::Queue", "KmsMasterKeyId", Check::Present, W, "the queue's KMS encryption is removed"),
    g("AWS::SQS::Queue", "SqsManagedSseEnabled", Check::On(TRUE), W, "the queue's SQS-managed encryption is turned off"),
    g("AWS::SNS::Topic", "KmsMasterKeyId", Check::Present, W, "the topic's KMS encryption is removed"),
    g("AWS::Logs::LogGroup", "KmsKeyId", Check::Present, W, "the log group's KMS encryption is removed"),
    g("AWS::ElastiCache::ReplicationGroup", "AtRestEncryptionEnabled", Check::On(TRUE), W, "ElastiCache encryption at rest is turned off"),
    g("AWS::ElastiCache::ReplicationGroup", "TransitEncryptionEnabled", Check::On(TRUE), W, "ElastiCache encryption in transit is turned off: clients talk in clear text"),
    g("AWS::Kinesis::Stream", "StreamEncryption", Check::Present, W, "the stream's encryption is removed"),
    g("AWS::SecretsManager::Secret", "KmsKeyId", Check::Present, W, "the secret moves from its own KMS key to the account's default key: the key policy no longer limits who decrypts it"),
    // Deletion and termination protection.
    g("AWS::RDS::DBInstance", "DeletionProtection", Check::On(TRUE), D, "deletion protection is turned off: the database can be deleted"),
    g("AWS::RDS::DBCluster", "DeletionProtection", Check::On(TRUE), D, "deletion protection is turned off: the database can be deleted"),
    g("AWS::DynamoDB::Table", "DeletionProtectionEnabled", Check::On(TRUE), D, "deletion protection is turned off: the table can be deleted"),
    g("AWS::EC2::Instance", "DisableApiTermination", Check::On(TRUE), D, "termination protection is turned off: the host can be terminated"),
    g("AWS::Logs::LogGroup", "DeletionProtectionEnabled", Check::On(TRUE), D, "deletion protection is turned off: the log group can be deleted"),
    g("AWS::Cognito::UserPool", "DeletionProtection", Check::On(&["active"]), D, "deletion protection is turned off: the user pool can be deleted"),
    g("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerAttributes", Check::Attribute("deletion_protection.enabled", "true"), D,
      "deletion protection is turned off: the load balancer (and its DNS name) can be deleted"),
    // Backup and log retention.
    g("AWS::Logs::LogGroup", "RetentionInDays", Check::AtLeast(None), D, "log retention is shortened: older logs are deleted"),
    g("AWS::Backup::BackupPlan", "BackupPlan/BackupPlanRule/*/Lifecycle/DeleteAfterDays", Check::AtLeast(None), D, "backup retention is shortened: older recovery points are deleted"),
    g("AWS::RDS::DBInstance", "BackupRetentionPeriod", Check::AtLeast(Some(1.0)), D, "automated backup retention is shortened"),
    g("AWS::RDS::DBCluster", "BackupRetentionPeriod", Check::AtLeast(Some(1.0)), D, "automated backup retention is shortened"),
    g("AWS::ElastiCache::ReplicationGroup", "SnapshotRetentionLimit", Check::AtLeast(Some(0.0)), D, "snapshot retention is shortened"),
    g("AWS::SQS::Queue", "MessageRetentionPeriod", Check::AtLeast(Some(345_600.0)), D, "message retention is shortened: unconsumed messages expire sooner"),
    g("AWS::Kinesis::Stream", "RetentionPeriodHours", Check::AtLeast(Some(24.0)), D, "stream retention is shortened"),
    g("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled", Check::On(TRUE), D, "point-in-time recovery is turned off"),
    g("AWS::S3::Bucket", "VersioningConfiguration/Status", Check::On(&["enabled"]), D, "versioning is suspended: overwritten and deleted objects are gone for good"),
    g("AWS::S3::Bucket", "ObjectLockConfiguration", Check::Present, D, "the bucket's default object lock retention is removed"),
    g("AWS::EFS::FileSystem", "BackupPolicy/Status", Check::On(&["enabled"]), D, "automatic EFS backups are turned off"),
    g("AWS::DynamoDB::GlobalTable", "Replicas/*/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled", Check::On(TRUE), D, "point-in-time recovery is turned off"),
];

/// The resource attributes that keep data when a resource goes, checked on resources that hold
/// data: `Retain`/`RetainExceptOnCreate`/`Snapshot` before, `Delete` (or nothing) after.
pub const RETENTION_ATTRIBUTES: &[&str] = &["DeletionPolicy", "UpdateReplacePolicy"];

/// Whether the table guards any setting of `type_`.
pub fn guarded(type_: &str) -> bool {
    GUARDS.iter().any(|g| g.type_ == type_)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str()?.parse().ok())
}

fn blocking_rules(rules: &Value) -> Vec<String> {
    rules
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            let blocks = r["Action"].get("Block").is_some()
                || r["Action"].get("Captcha").is_some()
                || r["Action"].get("Challenge").is_some();
            let group = !r["Statement"]["ManagedRuleGroupStatement"].is_null()
                || !r["Statement"]["RuleGroupReferenceStatement"].is_null();
            blocks || (group && r["OverrideAction"].get("Count").is_none())
        })
        .map(|r| r["Name"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// What a guard finds: `Err(())` when a value it needs is only known at deploy time and the
/// two sides differ.
fn check(guard: &Guard, old: &Value, new: &Value) -> Result<Option<String>, ()> {
    let path: Vec<String> = guard.path.split('/').map(str::to_string).collect();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    values_at(old, &path, &mut a, String::new());
    values_at(new, &path, &mut b, String::new());
    if a.iter().chain(&b).any(|(_, v)| has_intrinsic(v)) {
        return if a == b { Ok(None) } else { Err(()) };
    }
    let after = |k: &str| b.iter().find(|(p, _)| p == k).map(|(_, v)| *v);
    let mut found = Vec::new();
    match guard.check {
        Check::On(on) => {
            for (k, v) in &a {
                let was = scalar(v).is_some_and(|s| on.contains(&s.as_str()));
                let is = after(k).and_then(scalar);
                if was && !is.as_deref().is_some_and(|s| on.contains(&s)) {
                    found.push(format!(
                        "{k}: {} -> {}",
                        scalar(v).unwrap_or_default(),
                        is.unwrap_or_else(|| "(removed)".into())
                    ));
                }
            }
        }
        Check::Present => {
            for (k, v) in &a {
                if !v.is_null() && after(k).is_none_or(Value::is_null) {
                    found.push(format!("{k} removed"));
                }
            }
        }
        Check::AtLeast(missing) => {
            let keys: std::collections::BTreeSet<&String> =
                a.iter().chain(&b).map(|(k, _)| k).collect();
            for k in keys {
                let get = |vals: &Vec<(String, &Value)>| -> Option<f64> {
                    vals.iter()
                        .find(|(p, _)| p == k)
                        .and_then(|(_, v)| number(v))
                        .or(missing)
                };
                let (was, is) = (get(&a), get(&b));
                let shorter = match (was, is) {
                    (None, Some(_)) => true,
                    (Some(w), Some(i)) => i < w,
                    _ => false,
                };
                // A new element of a list (a new backup rule) is not a shortened one.
                let only_new = !a.iter().any(|(p, _)| p == k);
                if shorter && !(only_new && guard.path.contains('*')) {
                    let show =
                        |x: Option<f64>| x.map_or("unlimited".to_string(), |v| v.to_string());
                    found.push(format!("{k}: {} -> {}", show(was), show(is)));
                }
            }
        }
        Check::Attribute(key, on) => {
            let value = |v: &Value| -> Option<String> {
                v.as_array()?
                    .iter()
                    .find(|kv| kv["Key"] == key)
                    .and_then(|kv| scalar(&kv["Value"]))
            };
            let was = a.first().and_then(|(_, v)| value(v));
            let is = b.first().and_then(|(_, v)| value(v));
            if was.as_deref() == Some(on) && is.as_deref() != Some(on) {
                found.push(format!(
                    "{key}: {on} -> {}",
                    is.unwrap_or_else(|| "(removed)".into())
                ));
            }
        }
        Check::WafBlockingRules => {
            let was = a
                .first()
                .map(|(_, v)| blocking_rules(v))
                .unwrap_or_default();
            let is = b
                .first()
                .map(|(_, v)| blocking_rules(v))
                .unwrap_or_default();
            let gone: Vec<&String> = was.iter().filter(|r| !is.contains(r)).collect();
            if !gone.is_empty() {
                found.push(format!(
                    "no longer blocking: {}",
                    gone.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Check::WafDefaultBlock => {
            let was = a.first().is_some_and(|(_, v)| v.get("Block").is_some());
            let is = b.first().is_some_and(|(_, v)| v.get("Allow").is_some());
            if was && is {
                found.push("Block -> Allow".into());
            }
        }
    }
    Ok((!found.is_empty()).then(|| found.join("; ")))
}

/// The guardrails weakened between the old and new resource (`{"Properties", "DeletionPolicy",
/// ...}`; `Null` for an added or deleted one) of type `type_`; `holds_data` says whether the
/// resource holds data (for the retention attributes). Second: the guarded settings (`path`,
/// or the retention attribute) that changed but whose value is only known at deploy time.
pub fn weakened(
    type_: &str,
    old: &Value,
    new: &Value,
    holds_data: bool,
) -> (Vec<Weakened>, Vec<String>) {
    let (mut out, mut unknown) = (Vec::new(), Vec::new());
    if old.is_null() || new.is_null() {
        return (out, unknown);
    }
    for guard in GUARDS.iter().filter(|g| g.type_ == type_) {
        match check(guard, &old["Properties"], &new["Properties"]) {
            Ok(Some(what)) => out.push(Weakened {
                risk: guard.risk,
                setting: guard.path.to_string(),
                message: format!("{} ({what})", guard.message),
            }),
            Ok(None) => {}
            Err(()) => unknown.push(format!("guarded setting {}", guard.path)),
        }
    }
    if holds_data {
        for attr in RETENTION_ATTRIBUTES {
            let kept = |v: &Value| {
                matches!(
                    v.as_str(),
                    Some("Retain" | "RetainExceptOnCreate" | "Snapshot")
                )
            };
            if old[*attr] != new[*attr]
                && (has_intrinsic(&old[*attr]) || has_intrinsic(&new[*attr]))
            {
                unknown.push(format!("retention attribute {attr}"));
            } else if kept(&old[*attr]) && !kept(&new[*attr]) {
                out.push(Weakened {
                    risk: Risk::DataLoss,
                    setting: attr.to_string(),
                    message: format!(
                        "retention weakened on a resource that holds data: {attr} {} -> {} \
                         (a later deletion or replacement deletes the data instead of keeping it)",
                        old[*attr].as_str().unwrap_or_default(),
                        new[*attr].as_str().unwrap_or("Delete (default)")
                    ),
                });
            }
        }
    }
    (out, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(type_: &str, old: &Value, new: &Value, holds_data: bool) -> Vec<Weakened> {
        weakened(type_, old, new, holds_data).0
    }

    fn res(props: Value) -> Value {
        json!({ "Properties": props })
    }

    #[test]
    fn every_check_flags_a_weakening_and_not_a_strengthening() {
        let t = "AWS::S3::Bucket";
        let on = res(
            json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true,
            "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}}),
        );
        let w = found(t, &on, &res(json!({})), false);
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(w.iter().all(|x| x.risk == Risk::Widening));
        assert!(found(t, &res(json!({})), &on, false).is_empty());
        // Retention in days: absent = never expire.
        let t = "AWS::Logs::LogGroup";
        let days = |d: i64| res(json!({ "RetentionInDays": d }));
        assert_eq!(found(t, &days(30), &days(7), false)[0].risk, Risk::DataLoss);
        assert_eq!(found(t, &res(json!({})), &days(7), false).len(), 1);
        assert!(found(t, &days(7), &res(json!({})), false).is_empty());
        assert!(found(t, &days(7), &days(30), false).is_empty());
        // Load-balancer attributes.
        let t = "AWS::ElasticLoadBalancingV2::LoadBalancer";
        let lb = |v: &str| {
            res(json!({"LoadBalancerAttributes": [
            {"Key": "deletion_protection.enabled", "Value": v}]}))
        };
        assert_eq!(found(t, &lb("true"), &lb("false"), false).len(), 1);
        assert!(found(t, &lb("false"), &lb("true"), false).is_empty());
        // Deploy-time values are not judged.
        let t = "AWS::EC2::Volume";
        let enc = |v: Value| res(json!({ "Encrypted": v }));
        assert_eq!(
            found(t, &enc(json!(true)), &enc(json!(false)), false).len(),
            1
        );
        // A value only known at deploy time is not judged, but reported when it changed.
        let (found, unknown) = weakened(t, &enc(json!(true)), &enc(json!({"Ref": "P"})), false);
        assert!(found.is_empty());
        assert_eq!(unknown, ["guarded setting Encrypted"]);
        let same = weakened(
            t,
            &enc(json!({"Ref": "P"})),
            &enc(json!({"Ref": "P"})),
            false,
        );
        assert!(same.0.is_empty() && same.1.is_empty());
    }

    #[test]
    fn waf_blocking_rules_and_default_action() {
        let t = "AWS::WAFv2::WebACL";
        let acl =
            |rules: Value, default: Value| res(json!({"Rules": rules, "DefaultAction": default}));
        let rules = json!([
            {"Name": "RateLimit", "Action": {"Block": {}}, "Statement": {}},
            {"Name": "Common", "OverrideAction": {"None": {}},
             "Statement": {"ManagedRuleGroupStatement": {"Name": "AWSManagedRulesCommonRuleSet"}}},
            {"Name": "Watch", "Action": {"Count": {}}, "Statement": {}}
        ]);
        let before = acl(rules.clone(), json!({"Block": {}}));
        let w = found(t, &before, &acl(json!([]), json!({"Allow": {}})), false);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].message.contains("RateLimit, Common"), "{w:?}");
        assert!(w[1].message.contains("Block -> Allow"), "{w:?}");
        // A managed group switched to Count no longer blocks.
        let mut counted = rules.clone();
        counted[1]["OverrideAction"] = json!({"Count": {}});
        let w = found(t, &before, &acl(counted, json!({"Block": {}})), false);
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("Common") && !w[0].message.contains("RateLimit"));
        // Dropping the counting rule weakens nothing.
        let w = found(
            t,
            &before,
            &acl(json!([rules[0], rules[1]]), json!({"Block": {}})),
            false,
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn retention_weakened_only_on_resources_that_hold_data() {
        let kept = json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Snapshot"});
        let gone = json!({});
        let w = found("AWS::EC2::Volume", &kept, &gone, true);
        assert_eq!(w.len(), 2);
        assert!(w[0]
            .message
            .contains("DeletionPolicy Retain -> Delete (default)"));
        assert!(found("AWS::SNS::Topic", &kept, &gone, false).is_empty());
    }
}
