//! The CloudFormation stack policy of a data stack: replacement and deletion of its stateful
//! resources denied, every other update allowed.
//!
//! A stack policy is not part of the template and the CDK CLI does not set it: it is applied with
//! `aws cloudformation set-stack-policy` once the stack exists (README, "The data stacks"). While
//! set, an update that would replace or delete a listed resource fails before anything changes;
//! the override is a policy with that resource allowed ([`stack_policy`]'s `allow`), set for the
//! one deliberate update and replaced by the full policy afterwards.

use serde_json::{json, Value};

use crate::risk;

/// Types protected beside the stateful ones: replacing them replaces everything inside.
const FOUNDATIONS: [&str; 1] = ["AWS::EC2::VPC"];

/// The logical ids [`stack_policy`] protects: resources that hold data (declared so by their
/// construct, else of a stateful type, [`risk::STATEFUL`]; a resource its construct declares
/// replaceable compute is not protected for its type) or a foundation (the VPC), or that the
/// template retains or snapshots on deletion, sorted.
pub fn protected_resources(template: &Value) -> Vec<String> {
    let mut ids: Vec<String> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            let ty = r["Type"].as_str().unwrap_or_default();
            let kept = matches!(
                r["DeletionPolicy"].as_str(),
                Some("Retain" | "RetainExceptOnCreate" | "Snapshot")
            );
            let holds_data = match risk::declared_statefulness(r) {
                Some(d) => d.role == crate::report::Role::Data,
                None => risk::stateful(ty).is_some(),
            };
            holds_data || FOUNDATIONS.contains(&ty) || kept
        })
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids
}

/// The stack policy of `template`: `Update:Replace` and `Update:Delete` denied on each of
/// [`protected_resources`] except those in `allow` (the documented override), every other update
/// allowed. Deterministic: the same template gives the same bytes.
pub fn stack_policy(template: &Value, allow: &[String]) -> Value {
    let denied: Vec<String> = protected_resources(template)
        .into_iter()
        .filter(|id| !allow.contains(id))
        .map(|id| format!("LogicalResourceId/{id}"))
        .collect();
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Principal": "*",
        "Action": "Update:*",
        "Resource": "*"
    })];
    if !denied.is_empty() {
        statements.push(json!({
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["Update:Replace", "Update:Delete"],
            "Resource": denied
        }));
    }
    json!({ "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denies_replace_and_delete_of_stateful_and_retained_resources_only() {
        let t = json!({"Resources": {
            "Vol": {"Type": "AWS::EC2::Volume", "DeletionPolicy": "Snapshot"},
            "Fs": {"Type": "AWS::EFS::FileSystem", "DeletionPolicy": "Retain"},
            "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "Rule": {"Type": "AWS::EC2::SecurityGroupIngress"},
            "Vpc": {"Type": "AWS::EC2::VPC"},
            // A host its construct declares replaceable compute; a secret-less custom resource
            // declared to hold data.
            "Host": {"Type": "AWS::EC2::Instance", "Metadata": {"tracker:statefulness":
                {"role": "compute", "reason": "data on Vol"}}},
            "Store": {"Type": "Custom::Store", "Metadata": {"tracker:statefulness":
                {"role": "data", "reason": "rows"}}},
        }});
        assert_eq!(
            protected_resources(&t),
            ["Fs", "Logs", "Store", "Vol", "Vpc"]
        );
        let p = stack_policy(&t, &[]);
        assert_eq!(p["Statement"][0]["Effect"], "Allow");
        assert_eq!(p["Statement"][0]["Action"], "Update:*");
        assert_eq!(
            p["Statement"][1]["Resource"],
            json!([
                "LogicalResourceId/Fs",
                "LogicalResourceId/Logs",
                "LogicalResourceId/Store",
                "LogicalResourceId/Vol",
                "LogicalResourceId/Vpc"
            ])
        );
        assert_eq!(
            p["Statement"][1]["Action"],
            json!(["Update:Replace", "Update:Delete"])
        );
        // The override leaves one resource out.
        let p = stack_policy(&t, &["Vol".to_string()]);
        assert!(!p.to_string().contains("LogicalResourceId/Vol"));
        // Nothing to protect: only the allow statement.
        let p = stack_policy(&json!({"Resources": {}}), &[]);
        assert_eq!(p["Statement"].as_array().unwrap().len(), 1);
    }
}
