//! Acceptances: a known risk accepted on purpose, with its reason, so that a release pipeline
//! that must replace something deliberately does not have to skip the review.
//!
//! `--accept TARGET=REASON` (repeatable) and `--accept-file FILE` (committed, one
//! `TARGET=REASON` a line, `#` comments) give them. `TARGET` is a construct path, with or
//! without the stack (`TrackerStagingData/Data/Instance` or `Data/Instance`), a prefix of one at a
//! `/`, or a logical id. An acceptance covers every risky change it matches; the report prints it
//! and its matches (text, markdown, JSON: the audit trail), and the exit code counts only the
//! risks not accepted. An acceptance that matches no risky change is an error
//! ([`crate::ReviewError::Unmatched`]): a typo must not pass silently, and an acceptance whose
//! risk is gone must be removed before it covers a new one.

use std::path::{Path, PathBuf};

use crate::report::{Acceptance, Change, Report, Risk};
use crate::ReviewError;

/// Parses `TARGET=REASON`; `origin` says where it was given.
pub fn parse(text: &str, origin: &str) -> Result<Acceptance, String> {
    let Some((target, reason)) = text.split_once('=') else {
        return Err(format!(
            "{origin}: {text:?} is not TARGET=REASON (a construct path or logical id, `=`, why \
             the risk is accepted)"
        ));
    };
    let (target, reason) = (target.trim(), reason.trim());
    let mut problems = Vec::new();
    if target.is_empty() {
        problems.push("the target (a construct path or logical id) is empty");
    }
    if reason.is_empty() {
        problems.push("the reason is empty: say why the risk is accepted");
    }
    if !problems.is_empty() {
        return Err(format!("{origin}: {text:?}: {}", problems.join("; ")));
    }
    Ok(Acceptance {
        target: target.trim_end_matches('/').to_string(),
        reason: reason.to_string(),
        origin: origin.to_string(),
    })
}

/// The acceptances of an acceptance file (`display` names it in origins and errors). Every bad
/// line is reported at once.
pub fn read_file(path: &Path, display: &str) -> Result<Vec<Acceptance>, ReviewError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ReviewError::Missing {
                path: PathBuf::from(display),
                hint: "Pass the committed acceptance file (one TARGET=REASON a line).".into(),
            }
        } else {
            ReviewError::Read {
                path: PathBuf::from(display),
                source,
            }
        }
    })?;
    parse_file(&text, display)
}

/// [`read_file`] on text.
pub fn parse_file(text: &str, display: &str) -> Result<Vec<Acceptance>, ReviewError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse(line, &format!("{display}:{}", i + 1)) {
            Ok(a) => out.push(a),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ReviewError::Acceptances(problems.join("\n")))
    }
}

/// Whether `a` names `c`: its logical id, or its construct path (with or without the stack) or
/// a prefix of it ending at a `/`.
pub fn matches(a: &Acceptance, c: &Change) -> bool {
    if c.logical_id == a.target {
        return true;
    }
    let Some(path) = &c.construct_path else {
        return false;
    };
    let under = |p: &str| p == a.target || p.starts_with(&format!("{}/", a.target));
    under(path) || path.split_once('/').is_some_and(|(_, rest)| under(rest))
}

/// Applies `acceptances` to the risky changes of `reports`; records each acceptance's matches
/// in the report. Every acceptance that matches no risky change is an error (all listed).
pub fn apply(reports: &mut [Report], acceptances: &[Acceptance]) -> Result<(), ReviewError> {
    let mut unmatched = Vec::new();
    for a in acceptances {
        let mut any = false;
        for r in reports.iter_mut() {
            let mut ids = Vec::new();
            for c in r.changes.iter_mut() {
                if c.risk() != Risk::None && matches(a, c) {
                    if c.accepted.is_none() {
                        c.accepted = Some(a.clone());
                    }
                    ids.push(c.logical_id.clone());
                }
            }
            if !ids.is_empty() {
                any = true;
                r.acceptances.push((a.clone(), ids));
            }
        }
        if !any {
            unmatched.push(format!("{} ({})", a.target, a.origin));
        }
    }
    if unmatched.is_empty() {
        return Ok(());
    }
    let risky: Vec<String> = reports
        .iter()
        .flat_map(|r| &r.changes)
        .filter(|c| c.risk() != Risk::None)
        .map(|c| {
            format!(
                "{} ({})",
                c.construct_path.as_deref().unwrap_or(&c.logical_id),
                c.logical_id
            )
        })
        .collect();
    Err(ReviewError::Unmatched {
        targets: unmatched.join(", "),
        risky: if risky.is_empty() {
            "none: the review finds no risk".into()
        } else {
            risky.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Action, Source};

    fn report() -> Report {
        let vol = Change::new(
            "DataVol1",
            "AWS::EC2::Volume",
            Some("S/Data/DataVolume/Resource".into()),
            Action::Delete,
        );
        let topic = Change::new(
            "Topic1",
            "AWS::SNS::Topic",
            Some("S/Alarms/Topic/Resource".into()),
            Action::Delete,
        );
        Report::new(
            "S",
            Source::TemplateDiff {
                baseline: "a".into(),
                template: "b".into(),
            },
            vec![vol, topic],
        )
    }

    #[test]
    fn an_acceptance_covers_the_risk_it_names_and_the_verdict_follows() {
        let mut reports = vec![report()];
        assert_eq!(reports[0].exit_code(), crate::EXIT_DATA_LOSS);
        let a = parse(
            "Data/DataVolume=moving the data to RDS (TICKET-12)",
            "--accept",
        )
        .unwrap();
        apply(&mut reports, &[a]).unwrap();
        let r = &reports[0];
        assert_eq!(r.exit_code(), crate::EXIT_SAFE);
        assert_eq!(r.accepted_count(), 1);
        let text = r.render(crate::Format::Text);
        assert!(text.contains("safe: every risk accepted"), "{text}");
        assert!(
            text.contains("ACCEPTED\n  Data/DataVolume: moving the data to RDS (TICKET-12) (--accept; matched DataVol1)"),
            "{text}"
        );
        let j = r.to_json();
        assert_eq!(j["acceptances"][0]["matched"][0], "DataVol1");
        assert_eq!(j["summary"]["accepted"], 1);
        assert_eq!(
            j["changes"][0]["accepted"]["reason"],
            "moving the data to RDS (TICKET-12)"
        );
        assert_eq!(j["changes"][0]["risk"], "data-loss");
    }

    #[test]
    fn fails_an_acceptance_that_matches_no_risky_change() {
        let mut reports = vec![report()];
        // The topic's deletion is not risky: accepting it is stale.
        let e = apply(
            &mut reports,
            &[
                parse("Alarms/Topic=gone", "--accept").unwrap(),
                parse("Data/DataVolum=typo", "acc.txt:3").unwrap(),
            ],
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unmatched);
        let msg = e.to_string();
        assert!(
            msg.contains("Alarms/Topic (--accept), Data/DataVolum (acc.txt:3)")
                && msg.contains("S/Data/DataVolume/Resource (DataVol1)"),
            "{msg}"
        );
    }

    #[test]
    fn fails_bad_acceptance_lines_all_at_once() {
        let e = parse_file(
            "# why each risk is accepted\n\nData/Instance=routine host replacement\nno-equals\n=no target\nX=\n",
            "acc.txt",
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Input);
        let msg = e.to_string();
        for line in ["acc.txt:4", "acc.txt:5", "acc.txt:6"] {
            assert!(msg.contains(line), "{msg}");
        }
        assert!(!msg.contains("acc.txt:3"), "{msg}");
        let ok = parse_file("Data/Instance = routine host replacement\n", "acc.txt").unwrap();
        assert_eq!(ok[0].target, "Data/Instance");
        assert_eq!(ok[0].origin, "acc.txt:1");
    }
}
