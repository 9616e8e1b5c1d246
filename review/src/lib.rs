//! `tracker-review`: a CloudFormation change review that stops data loss.
//!
//! Compares the freshly synthesized template with a baseline (offline), or reads what a
//! CloudFormation change set says (online), and classifies every change: add, modify in place,
//! replace, delete. Replacement follows the create-only properties of the resource provider
//! schemas cfn-lint ships ([`spec`]). Each change is reported against the construct that owns it
//! (`aws:cdk:path`), and two kinds of risk come first: *data loss* (a stateful resource replaced
//! or deleted, [`risk::STATEFUL`]) and *widening* (IAM grants, security-group rules, source-IP
//! conditions).
//!
//! ```no_run
//! let old: serde_json::Value = serde_json::from_str("{\"Resources\": {}}").unwrap();
//! let new = old.clone();
//! let report = tracker_review::review_templates(&old, &new);
//! print!("{}", report.render(tracker_review::Format::Text));
//! std::process::exit(report.exit_code().into());
//! ```

pub mod accept;
pub mod aws;
pub mod changeset;
mod diff;
pub mod guardrails;
pub mod known;
pub mod moves;
pub mod policy;
pub mod report;
pub mod risk;
pub mod spec;

use std::path::{Path, PathBuf};

use known::Pseudo;
use serde_json::Value;

pub use report::{
    exit_code_table, Acceptance, Action, Change, CostChange, Format, PropertyChange, Replacement,
    Report, Risk, Source, EXIT_AWS, EXIT_CODES, EXIT_DATA_LOSS, EXIT_INPUT, EXIT_SAFE,
    EXIT_UNMATCHED_ACCEPTANCE, EXIT_USAGE, EXIT_WIDENING, SCHEMA, SCHEMA_VERSION,
};

/// Why a review could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The options contradict each other.
    #[error("{0}")]
    Usage(String),
    #[error("{path}: not found. {hint}")]
    Missing { path: PathBuf, hint: String },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} is not valid JSON: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    #[error("{what} is not a CloudFormation template: {reason}")]
    NotATemplate { what: String, reason: String },
    /// CloudFormation says the change set is not reviewable (still being created, failed).
    #[error("change set {name}: {reason}")]
    ChangeSet { name: String, reason: String },
    /// A change-set document that is not a whole change set of the stack reviewed.
    #[error("change set {what}: {reason}")]
    BadChangeSet { what: String, reason: String },
    /// Acceptances that cannot be read (every bad one listed).
    #[error("acceptances:\n{0}")]
    Acceptances(String),
    /// Acceptances that match no risky change.
    #[error(
        "acceptance(s) matching no risky change: {targets}. A target is a construct path (with \
         or without the stack), a prefix of one, or a logical id; the risky changes are: {risky}. \
         Remove an acceptance whose risk is gone"
    )]
    Unmatched { targets: String, risky: String },
    #[error(transparent)]
    Aws(#[from] aws::AwsError),
}

impl ReviewError {
    /// The class of error, for exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReviewError::Usage(_) => ErrorKind::Usage,
            ReviewError::Aws(_) => ErrorKind::Aws,
            ReviewError::ChangeSet { .. } => ErrorKind::Aws,
            ReviewError::Unmatched { .. } => ErrorKind::Unmatched,
            _ => ErrorKind::Input,
        }
    }

    /// The exit code of `tracker-cdk review` for this error ([`EXIT_CODES`]).
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            ErrorKind::Usage => EXIT_USAGE,
            ErrorKind::Input => EXIT_INPUT,
            ErrorKind::Aws => EXIT_AWS,
            ErrorKind::Unmatched => EXIT_UNMATCHED_ACCEPTANCE,
        }
    }
}

/// Classes of [`ReviewError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Contradictory options.
    Usage,
    /// A template or change-set file is missing or unreadable.
    Input,
    /// CloudFormation could not be asked, or refused, or the change set is not reviewable.
    Aws,
    /// An acceptance matches no risky change.
    Unmatched,
}

/// Compares two templates (offline). Both are CloudFormation templates as JSON; a template
/// without `Resources` counts as empty.
pub fn review_templates(old: &Value, new: &Value) -> Report {
    review_templates_named(
        "",
        Source::TemplateDiff {
            baseline: "old".into(),
            template: "new".into(),
        },
        old,
        new,
    )
}

/// [`review_templates`] with the stack name and source recorded in the report (and
/// `AWS::StackName` known).
pub fn review_templates_named(stack: &str, source: Source, old: &Value, new: &Value) -> Report {
    let pseudo = Pseudo::from_environment(stack, "");
    review_templates_in(stack, &pseudo, source, old, new)
}

/// [`review_templates_named`] for a stack whose environment (account, region) is known:
/// conditions and guarded settings that use pseudo parameters are judged with them.
pub fn review_templates_in(
    stack: &str,
    pseudo: &Pseudo,
    source: Source,
    old: &Value,
    new: &Value,
) -> Report {
    Report::new(stack, source, diff::compare_in(old, new, pseudo))
}

/// Classifies what a change set says. `template` (the new synthesized template) gives the
/// construct paths; `baseline` (the deployed template), when given, lets the review say *how*
/// access widens (the change set itself carries no property values). `pseudo` is what is known of
/// the stack's environment (for the templates' conditions).
pub fn review_change_set(
    stack: &str,
    pseudo: &Pseudo,
    change_set: &changeset::ChangeSet,
    template: Option<&Value>,
    baseline: Option<&Value>,
) -> Result<Report, ReviewError> {
    let name = change_set.change_set_name.clone();
    changeset::check_stack(change_set, stack).map_err(|reason| ReviewError::BadChangeSet {
        what: name.clone(),
        reason,
    })?;
    let ready = changeset::readiness(change_set).map_err(|reason| ReviewError::ChangeSet {
        name: name.clone(),
        reason,
    })?;
    let mut changes = if ready {
        changeset::classify(change_set, template)
    } else {
        Vec::new()
    };
    let offline = match (template, baseline) {
        (Some(new), Some(old)) => Some(diff::compare_in(old, new, pseudo)),
        _ => None,
    };
    for c in &mut changes {
        let o = offline
            .iter()
            .flatten()
            .find(|o| o.logical_id == c.logical_id);
        if let Some(o) = o {
            if !c.judged || c.action == Action::Delete {
                c.widening = o.widening.clone();
                c.guardrails = o.guardrails.clone();
                c.judged = true;
            }
            let unstated = c.notes.iter().any(|n| n == changeset::NO_REPLACEMENT_FIELD);
            if unstated && o.action == Action::Replace {
                c.action = o.action;
                c.replacement = o.replacement;
                c.properties = o.properties.clone();
            }
            if c.construct_path.is_none() {
                c.construct_path = o.construct_path.clone();
            }
            if c.statefulness.is_none() {
                c.statefulness = o.statefulness.clone();
            }
            for n in &o.notes {
                if !c.notes.contains(n) {
                    c.notes.push(n.clone());
                }
            }
        }
        if !c.judged && c.action != Action::Delete && touches_access(&c.resource_type) {
            c.notes.push(
                "access rules or protective settings changed; without property values \
                 (--include-property-values) or a baseline template the review cannot tell \
                 whether they widen or weaken: pass --baseline"
                    .into(),
            );
        }
    }
    Ok(Report::new(
        stack,
        Source::ChangeSet {
            change_set: name,
            template: None,
        },
        changes,
    ))
}

fn touches_access(type_: &str) -> bool {
    guardrails::guarded(type_)
        || !spec::policy_properties(type_).is_empty()
        || type_.starts_with("AWS::IAM::")
        || type_.starts_with("AWS::EC2::SecurityGroup")
        || type_.ends_with("Policy")
        || type_ == "AWS::KMS::Key"
        || type_ == "AWS::ElasticLoadBalancingV2::ListenerRule"
}

/// Where the baseline template comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// `stacks/golden/<STACK>.template.json`.
    Golden,
    /// The deployed template (CloudFormation `GetTemplate`).
    Deployed,
    /// A template file.
    Path(PathBuf),
}

impl std::str::FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Baseline, String> {
        Ok(match s {
            "golden" => Baseline::Golden,
            "deployed" => Baseline::Deployed,
            "" => return Err("empty baseline".into()),
            p => Baseline::Path(PathBuf::from(p)),
        })
    }
}

/// Where the change set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeSetSource {
    /// By name, through the CloudFormation API.
    Name(String),
    /// `aws cloudformation describe-change-set --output json` saved to a file.
    File(PathBuf),
}

/// What `tracker-cdk review` was asked.
#[derive(Clone, Debug)]
pub struct Options {
    pub stack: String,
    /// Default: `golden`, or `deployed` with a change set by name.
    pub baseline: Option<Baseline>,
    /// Default: `cdk.out/<STACK>.template.json`.
    pub template: Option<PathBuf>,
    pub change_set: Option<ChangeSetSource>,
    /// Overrides `AWS_REGION`.
    pub region: Option<String>,
    /// The directory relative paths are resolved against (the workspace root).
    pub root: PathBuf,
}

/// Reads and checks the CloudFormation template at `path` (`display` names it in errors; `hint`
/// says what to do when it is missing).
pub fn read_template(path: &Path, display: &str, hint: &str) -> Result<Value, ReviewError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ReviewError::Missing {
                path: PathBuf::from(display),
                hint: hint.to_string(),
            }
        } else {
            ReviewError::Read {
                path: PathBuf::from(display),
                source,
            }
        }
    })?;
    parse_template(&text, display)
}

fn parse_template(text: &str, what: &str) -> Result<Value, ReviewError> {
    let v: Value = serde_json::from_str(text).map_err(|source| ReviewError::Json {
        what: what.to_string(),
        source,
    })?;
    check_template(&v, what)?;
    Ok(v)
}

fn check_template(v: &Value, what: &str) -> Result<(), ReviewError> {
    let bad = |reason: &str| ReviewError::NotATemplate {
        what: what.to_string(),
        reason: reason.to_string(),
    };
    let obj = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
    let res = obj
        .get("Resources")
        .ok_or_else(|| bad("no `Resources` section"))?
        .as_object()
        .ok_or_else(|| bad("`Resources` is not an object"))?;
    for (id, r) in res {
        if !r["Type"].is_string() {
            return Err(bad(&format!("resource {id} has no `Type`")));
        }
    }
    Ok(())
}

/// The region whose prices the cost difference uses: the stack's in the manifest beside the new
/// template (`cdk.out/manifest.json`), else `--region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`;
/// `None` (no cost section) when none is known.
fn cost_region(opts: &Options, template_path: &Path) -> Option<String> {
    let manifest = template_path
        .parent()
        .and_then(|dir| std::fs::read_to_string(dir.join("manifest.json")).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    manifest
        .and_then(|m| tracker_cost::region_from_manifest(&m, &opts.stack))
        .or_else(|| opts.region.clone())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
}

/// Runs the review `tracker-cdk review` describes.
pub fn run(opts: &Options) -> Result<Report, ReviewError> {
    let stack = &opts.stack;
    if stack.is_empty() {
        return Err(ReviewError::Usage("the stack name is empty".into()));
    }
    let rel = |p: &Path| -> (PathBuf, String) {
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            opts.root.join(p)
        };
        (full, p.display().to_string())
    };
    let template_rel = opts
        .template
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("cdk.out/{stack}.template.json")));
    let (template_path, template_name) = rel(&template_rel);
    let template_hint = if opts.template.is_some() {
        "Pass the template `cdk synth` wrote.".to_string()
    } else {
        format!("Synthesize first: `npx cdk synth {stack}` (or `make synth`); or pass --template.")
    };
    let baseline = opts.baseline.clone().unwrap_or(match opts.change_set {
        Some(ChangeSetSource::Name(_)) => Baseline::Deployed,
        _ => Baseline::Golden,
    });
    let needs_client =
        baseline == Baseline::Deployed || matches!(opts.change_set, Some(ChangeSetSource::Name(_)));
    let client = if needs_client {
        Some(aws::Client::from_env(opts.region.as_deref())?)
    } else {
        None
    };
    let load_baseline = || -> Result<(Value, String), ReviewError> {
        match &baseline {
            Baseline::Golden => {
                let (p, name) = rel(Path::new(&format!("stacks/golden/{stack}.template.json")));
                let hint = format!(
                    "There is no golden template for {stack}; pass --baseline deployed or --baseline <file>."
                );
                Ok((read_template(&p, &name, &hint)?, format!("golden {name}")))
            }
            Baseline::Path(p) => {
                let (full, name) = rel(p);
                Ok((
                    read_template(
                        &full,
                        &name,
                        "Pass an existing template file as --baseline.",
                    )?,
                    name,
                ))
            }
            Baseline::Deployed => {
                let c = client.as_ref().expect("client made above");
                let text = c.get_template(stack)?;
                let what = format!("the deployed template of {stack}");
                Ok((parse_template(&text, &what)?, what))
            }
        }
    };

    // The stack's account and region, from the cloud assembly the template is in.
    let pseudo = Pseudo::from_assembly(template_path.parent().unwrap_or(Path::new(".")), stack);
    match &opts.change_set {
        None => {
            let new = read_template(&template_path, &template_name, &template_hint)?;
            let (old, baseline_name) = load_baseline()?;
            let mut report = review_templates_in(
                stack,
                &pseudo,
                Source::TemplateDiff {
                    baseline: baseline_name,
                    template: template_name,
                },
                &old,
                &new,
            );
            report.cost = cost_region(opts, &template_path)
                .map(|region| CostChange::of(stack, &old, &new, &region));
            Ok(report)
        }
        Some(source) => {
            let cs = match source {
                ChangeSetSource::Name(name) => client
                    .as_ref()
                    .expect("client made above")
                    .describe_change_set(stack, name)?,
                ChangeSetSource::File(p) => {
                    let (full, name) = rel(p);
                    let text = std::fs::read_to_string(&full).map_err(|source| {
                        if source.kind() == std::io::ErrorKind::NotFound {
                            ReviewError::Missing {
                                path: PathBuf::from(&name),
                                hint: format!("Save it with `aws cloudformation describe-change-set --stack-name {stack} --change-set-name <NAME> --output json > {name}`."),
                            }
                        } else {
                            ReviewError::Read {
                                path: PathBuf::from(&name),
                                source,
                            }
                        }
                    })?;
                    changeset::parse_describe_change_set_json(&text).map_err(|e| {
                        ReviewError::BadChangeSet {
                            what: name.clone(),
                            reason: e.to_string(),
                        }
                    })?
                }
            };
            // The new template gives construct paths; without it, logical ids are shown.
            let template = match read_template(&template_path, &template_name, &template_hint) {
                Ok(t) => Some(t),
                Err(ReviewError::Missing { .. }) if opts.template.is_none() => None,
                Err(e) => return Err(e),
            };
            // A baseline is optional online unless asked for explicitly.
            let old = match (&opts.baseline, template.is_some()) {
                (Some(_), _) | (None, true) => match load_baseline() {
                    Ok((v, _)) => Some(v),
                    Err(e) if opts.baseline.is_some() => return Err(e),
                    Err(_) => None,
                },
                _ => None,
            };
            let mut report =
                review_change_set(stack, &pseudo, &cs, template.as_ref(), old.as_ref())?;
            if let (Some(old), Some(new)) = (&old, &template) {
                report.cost = cost_region(opts, &template_path)
                    .map(|region| CostChange::of(stack, old, new, &region));
            }
            if let Source::ChangeSet { template: t, .. } = &mut report.source {
                *t = template.as_ref().map(|_| template_name.clone());
            }
            Ok(report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_review_prices_the_change_in_the_stacks_region() {
        let dir = tempfile::tempdir().unwrap();
        let nat = json!({"Type": "AWS::EC2::NatGateway", "Properties": {},
            "Metadata": {"aws:cdk:path": "S/Network/Nat"}});
        let old = json!({"Resources": {"Nat1": nat}});
        let new = json!({"Resources": {"Nat1": nat, "Nat2": nat, "Nat3": nat, "Nat4": nat}});
        std::fs::create_dir(dir.path().join("cdk.out")).unwrap();
        std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
        std::fs::write(dir.path().join("cdk.out/S.template.json"), new.to_string()).unwrap();
        std::fs::write(
            dir.path().join("cdk.out/manifest.json"),
            json!({"artifacts": {"S": {"environment": "aws://111111111111/eu-west-1"}}})
                .to_string(),
        )
        .unwrap();
        let opts = Options {
            stack: "S".into(),
            baseline: Some(Baseline::Path("old.json".into())),
            template: None,
            change_set: None,
            region: Some("us-east-1".into()),
            root: dir.path().to_path_buf(),
        };
        let report = run(&opts).unwrap();
        let cost = report.cost.as_ref().expect("a cost section");
        // The manifest's region wins over --region: eu-west-1, a NAT gateway 730 h x $0.048 +
        // 100 GB x $0.048 = $39.84 a month; three more: $119.52.
        assert_eq!(cost.region, "eu-west-1");
        assert_eq!(
            cost.kinds.iter().map(|k| k.describe()).collect::<Vec<_>>(),
            ["+3 NAT gateways: +$119.52/month"]
        );
        let text = report.render(Format::Text);
        assert!(
            text.contains("COST +$119.52/month ($39.84 -> $159.36"),
            "{text}"
        );
        assert!(text.contains("  +3 NAT gateways: +$119.52/month"), "{text}");
        let v = report.to_json();
        assert_eq!(v["cost"]["monthly_delta"], 119.52);
        assert_eq!(
            v["cost"]["kinds"][0]["summary"],
            "+3 NAT gateways: +$119.52/month"
        );
        assert!(report
            .render(Format::Markdown)
            .contains("**Monthly cost** +$119.52/month"));
    }

    fn volume(az: &str) -> Value {
        json!({"Resources": {"Vol": {"Type": "AWS::EC2::Volume",
            "Properties": {"AvailabilityZone": az, "Size": 50},
            "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot",
            "Metadata": {"aws:cdk:path": "S/Data/DataVolume/Resource"}}}})
    }

    #[test]
    fn a_change_set_entry_without_replacement_is_classified_from_the_templates() {
        // What moto answers: Modify, no Replacement, no Details.
        let cs = changeset::parse_describe_change_set_json(
            r#"{"ChangeSetName": "cs", "StackName": "S", "Status": "CREATE_COMPLETE",
              "Changes": [{"Type": "Resource", "ResourceChange": {"Action": "Modify",
                "LogicalResourceId": "Vol", "ResourceType": "AWS::EC2::Volume"}}]}"#,
        )
        .unwrap();
        let (old, new) = (volume("eu-west-1a"), volume("eu-west-1b"));
        let report =
            review_change_set("S", &Pseudo::default(), &cs, Some(&new), Some(&old)).unwrap();
        let c = &report.changes[0];
        assert_eq!(c.action, Action::Replace);
        assert!(c.data_loss.is_some(), "{c:?}");
        assert_eq!(report.exit_code(), report::EXIT_DATA_LOSS);

        // Without the templates it stays what the change set says, with the note.
        let report = review_change_set("S", &Pseudo::default(), &cs, None, None).unwrap();
        assert_eq!(report.changes[0].action, Action::Modify);
        assert!(report.changes[0]
            .notes
            .iter()
            .any(|n| n == changeset::NO_REPLACEMENT_FIELD));
    }
}
