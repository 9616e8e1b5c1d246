//! Moves between stacks: a resource deleted from one reviewed stack and added to another under
//! the same logical id and type is one resource moving, not a deletion plus a new resource.
//!
//! Construct ids (and so logical ids) do not include the stack, so a construct moved to another
//! stack under the same id keeps its logical id. Deployed plainly, such a move still deletes the
//! old resource (or orphans it, when retained) and creates a new one; kept with `cdk refactor` or a
//! CloudFormation resource import it stays the same physical resource. The review says so on both
//! sides, and a stateful resource's move stays data loss until it is done one of those ways.

use crate::report::{Action, Report};

/// What a move of a stateful resource needs, shown on its deletion.
pub const HOW: &str = "keep the physical resource with `npx cdk refactor` or a resource import \
    (`npx cdk import`; README, \"Moving a resource between stacks\"); a plain deploy deletes it \
    here (or orphans it, when retained) and creates a new, empty one there";

/// Marks every move between the stacks of `reports` (each report one stack) on both of its
/// changes; returns how many it found.
pub fn link(reports: &mut [Report]) -> usize {
    let mut moves = Vec::new();
    for (i, from) in reports.iter().enumerate() {
        for (a, out) in from.changes.iter().enumerate() {
            if out.action != Action::Delete {
                continue;
            }
            for (j, to) in reports.iter().enumerate() {
                if i == j {
                    continue;
                }
                if let Some(b) = to.changes.iter().position(|c| {
                    c.action == Action::Add
                        && c.logical_id == out.logical_id
                        && c.resource_type == out.resource_type
                }) {
                    moves.push((i, a, j, b));
                }
            }
        }
    }
    for &(i, a, j, b) in &moves {
        let (from, to) = (reports[i].stack.clone(), reports[j].stack.clone());
        let moved = format!("{from} -> {to}");
        let out = &mut reports[i].changes[a];
        out.moved = Some(moved.clone());
        if out.data_loss.is_some() {
            out.data_loss = Some(format!("moves to {to}: {HOW}"));
        }
        out.notes
            .push(format!("moves to {to} (same logical id and type)"));
        let arrival = &mut reports[j].changes[b];
        arrival.moved = Some(moved);
        arrival.notes.push(format!(
            "moves from {from}: imported there, not created, when kept"
        ));
    }
    moves.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Risk, Source};
    use crate::review_templates_named;
    use serde_json::json;

    fn source() -> Source {
        Source::TemplateDiff {
            baseline: "old".into(),
            template: "new".into(),
        }
    }

    #[test]
    fn a_file_system_leaving_one_stack_for_another_is_one_move() {
        let fs = json!({"Type": "AWS::EFS::FileSystem", "DeletionPolicy": "Retain",
            "Metadata": {"aws:cdk:path": "A/Anisette/FileSystem/Resource"}});
        let topic = json!({"Type": "AWS::SNS::Topic"});
        let a_old = json!({"Resources": {"AnisetteFs1": fs, "Topic": topic}});
        let a_new = json!({"Resources": {"Topic": topic}});
        let b_old = json!({"Resources": {}});
        let mut moved_fs = fs.clone();
        moved_fs["Metadata"]["aws:cdk:path"] = json!("B/Anisette/FileSystem/Resource");
        let b_new = json!({"Resources": {"AnisetteFs1": moved_fs, "Other": topic}});
        let mut reports = vec![
            review_templates_named("A", source(), &a_old, &a_new),
            review_templates_named("B", source(), &b_old, &b_new),
        ];
        assert!(reports[0].changes[0].data_loss.is_some());
        assert_eq!(link(&mut reports), 1);
        let out = &reports[0].changes[0];
        assert_eq!(out.moved.as_deref(), Some("A -> B"));
        assert!(out.data_loss.as_deref().unwrap().contains("cdk refactor"));
        assert_eq!(
            out.risk(),
            Risk::DataLoss,
            "a plain deploy would still lose it"
        );
        let arrival = reports[1]
            .changes
            .iter()
            .find(|c| c.logical_id == "AnisetteFs1")
            .unwrap();
        assert_eq!(arrival.moved.as_deref(), Some("A -> B"));
        // An unrelated addition is not a move.
        let other = reports[1]
            .changes
            .iter()
            .find(|c| c.logical_id == "Other")
            .unwrap();
        assert!(other.moved.is_none());
        let text = reports[0].render(crate::Format::Text);
        assert!(text.contains("MOVE A -> B (delete)"), "{text}");
        assert_eq!(reports[0].to_json()["changes"][0]["moved"], "A -> B");
    }

    #[test]
    fn a_different_type_under_the_same_id_is_no_move() {
        let a_old = json!({"Resources": {"X": {"Type": "AWS::SNS::Topic"}}});
        let b_new = json!({"Resources": {"X": {"Type": "AWS::SQS::Queue"}}});
        let empty = json!({"Resources": {}});
        let mut reports = vec![
            review_templates_named("A", source(), &a_old, &empty),
            review_templates_named("B", source(), &empty, &b_new),
        ];
        assert_eq!(link(&mut reports), 0);
    }
}
