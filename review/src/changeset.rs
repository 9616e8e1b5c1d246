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

/// A change-set file that is not what `describe-change-set --output json` prints.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses the JSON that `aws cloudformation describe-change-set --output json` prints.
pub fn parse_describe_change_set_json(text: &str) -> Result<ChangeSet, ParseError> {
    Ok(serde_json::from_str(text)?)
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
        "" => Ok(true), // hand-made files without a status
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
        if action == Action::Modify && rc.replacement.is_none() {
            c.notes.push(NO_REPLACEMENT_FIELD.to_string());
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
