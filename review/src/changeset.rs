//! Online review: what a CloudFormation change set says it will do, read through the SDK
//! (`crate::aws`) or from `aws cloudformation describe-change-set --output json`.

use serde::Deserialize;
use serde_json::Value;

use crate::report::{Action, Change, PropertyChange, Replacement};

/// A change set (the parts the review uses).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChangeSet {
    pub change_set_name: String,
    pub stack_name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: Option<String>,
    pub changes: Vec<ChangeEntry>,
    pub next_token: Option<String>,
    /// The change set's ARN (`ChangeSetId`).
    pub change_set_id: Option<String>,
}

/// One entry of `Changes`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChangeEntry {
    #[serde(rename = "Type")]
    pub type_: String,
    pub resource_change: Option<ResourceChange>,
}

/// `ResourceChange`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (Modify only).
    pub replacement: Option<String>,
    /// `Delete`, `Retain`, `Snapshot`, `ReplaceAndDelete`, `ReplaceAndRetain`,
    /// `ReplaceAndSnapshot`.
    pub policy_action: Option<String>,
    pub scope: Vec<String>,
    pub details: Vec<Detail>,
    /// The nested change set of an `AWS::CloudFormation::Stack` entry (`IncludeNestedStacks`).
    pub change_set_id: Option<String>,
    /// The resource before the change (`{"Properties": ...}`, JSON text), when the change set was
    /// described with `IncludePropertyValues` (`--include-property-values`).
    pub before_context: Option<String>,
    /// The resource after the change, as [`ResourceChange::before_context`].
    pub after_context: Option<String>,
}

/// One of `Details`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Detail {
    pub target: Target,
    pub evaluation: Option<String>,
    pub change_source: Option<String>,
    pub causing_entity: Option<String>,
}

/// `Target` of a detail.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Target {
    /// `Properties`, `Metadata`, `Tags`, `DeletionPolicy`, ...
    pub attribute: String,
    pub name: Option<String>,
    pub path: Option<String>,
    /// `Never`, `Conditionally`, `Always`.
    pub requires_recreation: Option<String>,
}

/// A change-set file that is not what `describe-change-set --output json` prints, or only part
/// of it. Every problem is listed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not a change set (the JSON of `aws cloudformation describe-change-set`): {0}")]
    NotAChangeSet(String),
    #[error(
        "one page of a paginated change set (NextToken is set): the review needs every change. \
         Save all pages: `aws cloudformation describe-change-set --stack-name STACK \
         --change-set-name NAME --include-property-values --output json > FILE` without \
         --max-items or --no-paginate (the AWS CLI then follows NextToken and prints every page), \
         or review online with --change-set NAME"
    )]
    PartialPage,
    #[error(
        "it has nested change sets ({0}), which a saved file does not contain: review online with \
         --change-set NAME (which follows them), or review each nested change set's file"
    )]
    Nested(String),
}

/// What a JSON document looks like, for the error that says it is not a change set.
fn looks_like(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return format!("found {} instead of an object", kind_of(v));
    };
    if m.is_empty() {
        return "found an empty object".into();
    }
    if m.contains_key("Resources") || m.contains_key("AWSTemplateFormatVersion") {
        return "found a CloudFormation template (it has `Resources`): pass it as --template or \
                --baseline, or save the change set with `describe-change-set`"
            .into();
    }
    if m.contains_key("Summaries") {
        return "found the output of `list-change-sets` (`Summaries`): describe one of them with \
                `aws cloudformation describe-change-set`"
            .into();
    }
    if m.contains_key("StackResourceDrifts") || m.contains_key("Stacks") {
        return "found the output of another CloudFormation command".into();
    }
    let keys: Vec<&str> = m.keys().map(String::as_str).take(8).collect();
    format!("found an object with keys {}", keys.join(", "))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses the JSON that `aws cloudformation describe-change-set --output json` prints, strictly:
/// `ChangeSetName`, `StackName` and `Status` (strings) and `Changes` (an array) must be present,
/// and a saved page with `NextToken` or nested change sets is refused (it is not the whole
/// change set).
pub fn parse_describe_change_set_json(text: &str) -> Result<ChangeSet, ParseError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    let mut missing = Vec::new();
    for (key, string) in [
        ("ChangeSetName", true),
        ("StackName", true),
        ("Status", true),
        ("Changes", false),
    ] {
        let ok = match &v[key] {
            Value::String(s) => string && !s.is_empty(),
            Value::Array(_) => !string,
            _ => false,
        };
        if !ok {
            missing.push(format!(
                "`{key}` ({})",
                if string {
                    "a non-empty string"
                } else {
                    "an array"
                }
            ));
        }
    }
    if !missing.is_empty() {
        return Err(ParseError::NotAChangeSet(format!(
            "missing or wrong {}; {}",
            missing.join(", "),
            looks_like(&v)
        )));
    }
    let cs: ChangeSet =
        serde_json::from_value(v).map_err(|e| ParseError::NotAChangeSet(e.to_string()))?;
    if cs.next_token.as_deref().is_some_and(|t| !t.is_empty()) {
        return Err(ParseError::PartialPage);
    }
    let nested = nested_change_sets(&cs);
    if !nested.is_empty() {
        return Err(ParseError::Nested(nested.join(", ")));
    }
    Ok(cs)
}

/// The nested change sets an `IncludeNestedStacks` change set points to (`ChangeSetId` of its
/// `AWS::CloudFormation::Stack` entries).
pub fn nested_change_sets(cs: &ChangeSet) -> Vec<String> {
    cs.changes
        .iter()
        .filter_map(|e| e.resource_change.as_ref()?.change_set_id.clone())
        .filter(|id| !id.is_empty())
        .collect()
}

/// Checks that the change set belongs to `stack` (its `StackName`, or the stack name inside a
/// stack ARN).
pub fn check_stack(cs: &ChangeSet, stack: &str) -> Result<(), String> {
    let name = cs
        .stack_name
        .strip_prefix("arn:")
        .and_then(|arn| arn.split(':').nth(4))
        .and_then(|r| r.strip_prefix("stack/"))
        .and_then(|r| r.split('/').next())
        .unwrap_or(&cs.stack_name);
    if name == stack {
        Ok(())
    } else {
        Err(format!(
            "it is a change set of stack {name}, not of {stack}: review it as `review {name}`, or \
             pass the change set of {stack}"
        ))
    }
}

/// Whether the change set can be reviewed: `Ok(true)` ready, `Ok(false)` CloudFormation found
/// no changes, `Err(reason)` otherwise.
pub fn readiness(cs: &ChangeSet) -> Result<bool, String> {
    match cs.status.as_str() {
        "CREATE_COMPLETE" => Ok(true),
        "FAILED" => {
            let reason = cs.status_reason.clone().unwrap_or_default();
            if reason.contains("didn't contain changes") || reason.contains("No updates") {
                Ok(false)
            } else {
                Err(format!("the change set failed: {reason}"))
            }
        }
        other => Err(format!(
            "the change set is {other}, not CREATE_COMPLETE: wait for it and run again"
        )),
    }
}

/// The note on a `Modify` entry whose change set says nothing about replacement (CloudFormation
/// always says `True`, `False` or `Conditional`; emulators may not). With both templates the review
/// then classifies the entry from the template diff instead.
pub const NO_REPLACEMENT_FIELD: &str =
    "the change set gives no Replacement for this entry; classified from the templates";

/// The note on an entry whose action is `Dynamic`: CloudFormation decides at execution time.
pub const DYNAMIC: &str = "action Dynamic: CloudFormation decides at execution time what happens \
    to this resource (a nested stack, a macro or a dynamic reference); the review cannot tell \
    whether it is replaced";

/// The note on an entry whose action is `SyncWithActual` (a drift-aware change set).
pub const SYNC_WITH_ACTUAL: &str = "action SyncWithActual: CloudFormation brings the resource \
    back to what the template says from what it actually is (drift); a change made outside \
    CloudFormation is undone";

/// The review's classification of the change set's entries. `template` (the new synthesized
/// template, if any) gives construct paths and retention policies.
pub fn classify(cs: &ChangeSet, template: Option<&Value>) -> Vec<Change> {
    let mut out = Vec::new();
    for e in &cs.changes {
        let Some(rc) = &e.resource_change else {
            continue; // hook invocations and other non-resource entries
        };
        if crate::diff::IGNORED_TYPES.contains(&rc.resource_type.as_str()) {
            continue;
        }
        let new_res = template.map(|t| &t["Resources"][&rc.logical_resource_id]);
        let path = new_res.and_then(crate::diff::cdk_path);
        let (action, replacement) = match (rc.action.as_str(), rc.replacement.as_deref()) {
            ("Add", _) | ("Import", _) => (Action::Add, Replacement::Never),
            ("Remove", _) => (Action::Delete, Replacement::Never),
            (_, Some("True")) => (Action::Replace, Replacement::Always),
            (_, Some("Conditional")) => (Action::Replace, Replacement::Conditional),
            _ => (Action::Modify, Replacement::Never),
        };
        let mut c = Change::new(&rc.logical_resource_id, &rc.resource_type, path, action);
        c.replacement = replacement;
        match rc.action.as_str() {
            "Add" | "Import" | "Remove" => {}
            "Modify" if rc.replacement.is_none() => c.notes.push(NO_REPLACEMENT_FIELD.to_string()),
            "Modify" => {}
            "Dynamic" => c.notes.push(DYNAMIC.to_string()),
            "SyncWithActual" => c.notes.push(SYNC_WITH_ACTUAL.to_string()),
            other => c.notes.push(format!(
                "the change set's action {other:?} is unknown to the review: read it yourself"
            )),
        }
        if let Some(r) = new_res {
            c.statefulness = crate::risk::declared_statefulness(r);
        }
        if action == Action::Delete && rc.resource_type == "AWS::KMS::Key" {
            // Judged from the templates when they are given (what references the key).
            c.guardrails.push(crate::report::Weakened {
                risk: crate::report::Risk::DataLoss,
                setting: "KMS key".into(),
                message: "the KMS key is scheduled for deletion: whatever it encrypted becomes \
                          unreadable after the waiting period; without the templates the review \
                          cannot tell what uses it (pass --baseline)"
                    .into(),
            });
        }
        // With `IncludePropertyValues`, the change set's own before/after values judge widening
        // and guardrails; no baseline template is needed.
        let context = |s: &Option<String>| -> Option<Value> {
            let v: Value = serde_json::from_str(s.as_deref()?).ok()?;
            Some(if v.get("Properties").is_some() {
                v
            } else {
                serde_json::json!({ "Properties": v })
            })
        };
        let (before, after) = (context(&rc.before_context), context(&rc.after_context));
        if before.is_some() || after.is_some() {
            let (old, new) = (before.unwrap_or(Value::Null), after.unwrap_or(Value::Null));
            // CloudFormation resolved the values already.
            let none = crate::known::Known::nothing();
            crate::diff::judge(&mut c, &old, &new, (none, none));
            c.judged = true;
        }
        for d in &rc.details {
            let t = &d.target;
            let name = t
                .path
                .clone()
                .map(|p| p.trim_start_matches("/Properties/").to_string())
                .or_else(|| t.name.clone());
            let r = match t.requires_recreation.as_deref() {
                Some("Always") => Replacement::Always,
                Some("Conditionally") => Replacement::Conditional,
                _ => Replacement::Never,
            };
            match (t.attribute.as_str(), name) {
                ("Properties", Some(n)) | ("Tags", Some(n)) => {
                    let n = if d.evaluation.as_deref() == Some("Dynamic") {
                        format!(
                            "{n} (dynamic{})",
                            d.causing_entity
                                .as_deref()
                                .map(|e| format!(", caused by {e}"))
                                .unwrap_or_default()
                        )
                    } else {
                        n
                    };
                    if !c.properties.iter().any(|p| p.path == n) {
                        c.properties.push(PropertyChange {
                            path: n,
                            replacement: r,
                        });
                    }
                }
                (attr, _) => {
                    let attr = attr.to_string();
                    if !c.attributes.contains(&attr) {
                        c.attributes.push(attr);
                    }
                }
            }
        }
        // Retention: the change set's own policy action, else the templates' attributes.
        c.old_policy = match rc.policy_action.as_deref() {
            Some("Retain") | Some("ReplaceAndRetain") => Some("Retain".into()),
            Some("Snapshot") | Some("ReplaceAndSnapshot") => Some("Snapshot".into()),
            Some(_) => Some("Delete".into()),
            None if action == Action::Replace => new_res
                .and_then(|r| r["UpdateReplacePolicy"].as_str())
                .map(str::to_string),
            None => None,
        };
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_json_and_reads_a_failed_change_set() {
        let json = r#"{"ChangeSetName": "cs", "StackName": "S", "Status": "CREATE_COMPLETE",
          "Changes": [{"Type": "Resource", "ResourceChange": {"Action": "Modify",
            "LogicalResourceId": "Vol", "ResourceType": "AWS::EC2::Volume", "Replacement": "Conditional",
            "Scope": ["Properties"], "Details": [{"Target": {"Attribute": "Properties",
              "Name": "AvailabilityZone", "RequiresRecreation": "Conditionally"},
              "Evaluation": "Dynamic", "ChangeSource": "ResourceAttribute", "CausingEntity": "Instance.AvailabilityZone"}]}}]}"#;
        let cs = parse_describe_change_set_json(json).unwrap();
        let c = &classify(&cs, None)[0];
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.replacement, Replacement::Conditional);
        assert!(c.properties[0]
            .path
            .contains("caused by Instance.AvailabilityZone"));

        let failed = ChangeSet {
            status: "FAILED".into(),
            status_reason: Some("The submitted information didn't contain changes.".into()),
            ..Default::default()
        };
        assert_eq!(readiness(&failed), Ok(false));
    }
}
