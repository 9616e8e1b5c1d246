//! Online review: what a CloudFormation change set says it will do, read from the
//! `DescribeChangeSet` XML response or from `aws cloudformation describe-change-set --output json`.

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

/// A response that is not what the API documents.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not XML: {0}")]
    Xml(#[from] roxmltree::Error),
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no <{0}> element")]
    Missing(&'static str),
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name).map(|c| c.text().unwrap_or_default().to_string())
}

fn members<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    child(n, name)
        .map(|l| {
            l.children()
                .filter(|c| c.is_element() && c.tag_name().name() == "member")
                .collect()
        })
        .unwrap_or_default()
}

/// Parses one page of a `DescribeChangeSet` Query API response.
pub fn parse_describe_change_set_xml(xml: &str) -> Result<ChangeSet, ParseError> {
    let doc = roxmltree::Document::parse(xml)?;
    let result = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "DescribeChangeSetResult")
        .ok_or(ParseError::Missing("DescribeChangeSetResult"))?;
    let changes = members(result, "Changes")
        .into_iter()
        .map(|m| ChangeEntry {
            type_: text(m, "Type").unwrap_or_default(),
            resource_change: child(m, "ResourceChange").map(|rc| ResourceChange {
                action: text(rc, "Action").unwrap_or_default(),
                logical_resource_id: text(rc, "LogicalResourceId").unwrap_or_default(),
                physical_resource_id: text(rc, "PhysicalResourceId"),
                resource_type: text(rc, "ResourceType").unwrap_or_default(),
                replacement: text(rc, "Replacement"),
                policy_action: text(rc, "PolicyAction"),
                scope: members(rc, "Scope")
                    .into_iter()
                    .map(|s| s.text().unwrap_or_default().to_string())
                    .collect(),
                details: members(rc, "Details")
                    .into_iter()
                    .map(|d| {
                        let t = child(d, "Target");
                        Detail {
                            target: Target {
                                attribute: t.and_then(|t| text(t, "Attribute")).unwrap_or_default(),
                                name: t.and_then(|t| text(t, "Name")),
                                path: t.and_then(|t| text(t, "Path")),
                                requires_recreation: t.and_then(|t| text(t, "RequiresRecreation")),
                            },
                            evaluation: text(d, "Evaluation"),
                            change_source: text(d, "ChangeSource"),
                            causing_entity: text(d, "CausingEntity"),
                        }
                    })
                    .collect(),
            }),
        })
        .collect();
    Ok(ChangeSet {
        change_set_name: text(result, "ChangeSetName").unwrap_or_default(),
        stack_name: text(result, "StackName").unwrap_or_default(),
        status: text(result, "Status").unwrap_or_default(),
        status_reason: text(result, "StatusReason").filter(|s| !s.is_empty()),
        execution_status: text(result, "ExecutionStatus"),
        changes,
        next_token: text(result, "NextToken").filter(|s| !s.is_empty()),
    })
}

/// Parses the JSON that `aws cloudformation describe-change-set --output json` prints.
pub fn parse_describe_change_set_json(text: &str) -> Result<ChangeSet, ParseError> {
    Ok(serde_json::from_str(text)?)
}

/// Parses a `GetTemplate` response: the `TemplateBody` text.
pub fn parse_get_template_xml(xml: &str) -> Result<String, ParseError> {
    let doc = roxmltree::Document::parse(xml)?;
    doc.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "TemplateBody")
        .map(|n| n.text().unwrap_or_default().to_string())
        .ok_or(ParseError::Missing("TemplateBody"))
}

/// (code, message) of a Query API `ErrorResponse`.
pub fn parse_error(xml: &str) -> Option<(String, String)> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let err = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Error")?;
    Some((
        text(err, "Code").unwrap_or_default(),
        text(err, "Message").unwrap_or_default(),
    ))
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

    /// The shape of the `DescribeChangeSet` example response in the CloudFormation API
    /// reference, with a second page token.
    pub(crate) const XML: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeChangeSetResult>
    <ChangeSetName>SampleChangeSet-direct</ChangeSetName>
    <ChangeSetId>arn:aws:cloudformation:us-east-1:123456789012:changeSet/SampleChangeSet-direct/9edde307-960d-4e6e-ad66-b1b9e3a0fe1b</ChangeSetId>
    <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/SampleStack/36fb3a60-5b1b-11e5-a0b7-50d5017c7eaa</StackId>
    <StackName>SampleStack</StackName>
    <Status>CREATE_COMPLETE</Status>
    <ExecutionStatus>AVAILABLE</ExecutionStatus>
    <Changes>
      <member>
        <ResourceChange>
          <Action>Modify</Action>
          <LogicalResourceId>MyEC2Instance</LogicalResourceId>
          <PhysicalResourceId>i-1abc23d4</PhysicalResourceId>
          <Replacement>True</Replacement>
          <ResourceType>AWS::EC2::Instance</ResourceType>
          <Scope>
            <member>Properties</member>
          </Scope>
          <Details>
            <member>
              <ChangeSource>DirectModification</ChangeSource>
              <Evaluation>Static</Evaluation>
              <Target>
                <Attribute>Properties</Attribute>
                <Name>ImageId</Name>
                <RequiresRecreation>Always</RequiresRecreation>
              </Target>
            </member>
            <member>
              <ChangeSource>DirectModification</ChangeSource>
              <Evaluation>Static</Evaluation>
              <Target>
                <Attribute>Tags</Attribute>
                <RequiresRecreation>Never</RequiresRecreation>
              </Target>
            </member>
          </Details>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
      <member>
        <ResourceChange>
          <Action>Remove</Action>
          <LogicalResourceId>Logs</LogicalResourceId>
          <PhysicalResourceId>sample-logs</PhysicalResourceId>
          <ResourceType>AWS::Logs::LogGroup</ResourceType>
          <PolicyAction>Retain</PolicyAction>
          <Scope/>
          <Details/>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
    </Changes>
    <NextToken>page-2</NextToken>
    <CreationTime>2015-09-15T22:36:31.914Z</CreationTime>
  </DescribeChangeSetResult>
  <ResponseMetadata>
    <RequestId>6dab2d9c-f0c7-4b32-b3b6-1c2bbef6f0f0</RequestId>
  </ResponseMetadata>
</DescribeChangeSetResponse>"#;

    #[test]
    fn parses_a_describe_change_set_response() {
        let cs = parse_describe_change_set_xml(XML).unwrap();
        assert_eq!(cs.change_set_name, "SampleChangeSet-direct");
        assert_eq!(cs.stack_name, "SampleStack");
        assert_eq!(cs.status, "CREATE_COMPLETE");
        assert_eq!(cs.next_token.as_deref(), Some("page-2"));
        assert_eq!(cs.changes.len(), 2);
        let rc = cs.changes[0].resource_change.as_ref().unwrap();
        assert_eq!(rc.action, "Modify");
        assert_eq!(rc.replacement.as_deref(), Some("True"));
        assert_eq!(rc.scope, ["Properties"]);
        assert_eq!(rc.details.len(), 2);
        assert_eq!(rc.details[0].target.name.as_deref(), Some("ImageId"));
        assert_eq!(
            rc.details[0].target.requires_recreation.as_deref(),
            Some("Always")
        );
        let changes = classify(&cs, None);
        assert_eq!(changes[0].action, Action::Replace);
        assert_eq!(changes[0].attributes, ["Tags"]);
        assert_eq!(changes[1].action, Action::Delete);
        assert_eq!(changes[1].old_policy.as_deref(), Some("Retain"));
    }

    #[test]
    fn parses_the_cli_json_and_errors() {
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

        let err = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ChangeSetNotFound</Code><Message>ChangeSet [x] does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        assert_eq!(
            parse_error(err),
            Some((
                "ChangeSetNotFound".into(),
                "ChangeSet [x] does not exist".into()
            ))
        );
        let t = r#"<GetTemplateResponse><GetTemplateResult><TemplateBody>{"Resources":{}}</TemplateBody></GetTemplateResult></GetTemplateResponse>"#;
        assert_eq!(parse_get_template_xml(t).unwrap(), r#"{"Resources":{}}"#);
        let failed = ChangeSet {
            status: "FAILED".into(),
            status_reason: Some("The submitted information didn't contain changes.".into()),
            ..Default::default()
        };
        assert_eq!(readiness(&failed), Ok(false));
    }
}
