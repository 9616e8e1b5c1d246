//! The review: changes with their risk, ordered, and rendered for a terminal, a pull-request
//! comment, or CI (JSON, schema [`SCHEMA`] version [`SCHEMA_VERSION`]).

use serde::Serialize;
use serde_json::{json, Value};

use crate::risk;

/// The JSON report's schema name.
pub const SCHEMA: &str = "tracker-review.report";
/// The JSON report's schema version: the major changes when a field is removed or its meaning
/// changes; the minor when a field is added.
pub const SCHEMA_VERSION: &str = "1.2";

/// Exit code: nothing risky.
pub const EXIT_SAFE: u8 = 0;
/// Exit code: a stateful resource is replaced or deleted (wins over widening).
pub const EXIT_DATA_LOSS: u8 = 10;
/// Exit code: access is widened (IAM, security groups, source-IP conditions).
pub const EXIT_WIDENING: u8 = 11;
/// Exit code: the options contradict each other (also clap's usage error).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a template, change-set or acceptance file is missing, unreadable or not what it
/// claims (a template given as a change set, a partial page, another stack's change set).
pub const EXIT_INPUT: u8 = 4;
/// Exit code: CloudFormation could not be asked or refused, or the change set is not reviewable
/// (still being created, or failed).
pub const EXIT_AWS: u8 = 5;
/// Exit code: an acceptance matches no risky change (mistyped, or the risk is gone: remove it).
pub const EXIT_UNMATCHED_ACCEPTANCE: u8 = 12;

/// Every exit code of `tracker-cdk review` with its meaning: the one table `--help`, the README
/// and the code share (a test checks the README against it).
pub const EXIT_CODES: &[(u8, &str)] = &[
    (EXIT_SAFE, "safe: no data loss, no widened access, or every risk accepted"),
    (EXIT_DATA_LOSS, "data loss: a stateful resource is replaced or deleted, or a guardrail that keeps data is weakened (wins over 11)"),
    (EXIT_WIDENING, "widening: IAM or resource-policy grants, security-group rules, source-IP conditions, or a guardrail that keeps things private is weakened"),
    (EXIT_USAGE, "usage error"),
    (EXIT_INPUT, "a template, change-set or acceptance file is missing, unreadable or not what it claims"),
    (EXIT_AWS, "CloudFormation could not be asked or refused, or the change set is not reviewable"),
    (EXIT_UNMATCHED_ACCEPTANCE, "an acceptance matches no risky change (mistyped, or the risk is gone)"),
];

/// [`EXIT_CODES`] as the `Exit codes:` block of `--help` and the README.
pub fn exit_code_table() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, what) in EXIT_CODES {
        s.push_str(&format!("  {code:>2}  {what}\n"));
    }
    s
}

/// Whether `stack` is a data stack (`TrackerStagingData`, `TrackerProductionData`: its name ends
/// in `Data`), where every replacement or deletion needs explicit acceptance.
pub fn is_data_stack(stack: &str) -> bool {
    stack.len() > "Data".len() && stack.ends_with("Data")
}

/// What CloudFormation does to the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Add,
    /// Updated in place (with or without interruption).
    Modify,
    /// A new physical resource is created and the old one removed.
    Replace,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Modify => "modify",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// Whether a change replaces the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replacement {
    Never,
    /// Depends on a value only known at deploy time (an intrinsic such as `Ref`/`Fn::GetAtt`).
    Conditional,
    Always,
}

/// The risk category of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    DataLoss,
    Widening,
    None,
}

/// One changed property.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropertyChange {
    /// The property path (`Size`, `Tags`, `NetworkInterfaces/0/SubnetId`).
    pub path: String,
    pub replacement: Replacement,
}

/// One changed resource.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The construct path (`aws:cdk:path`), e.g. `TrackerStaging/Data/DataVolume/Resource`.
    pub construct_path: Option<String>,
    pub action: Action,
    pub replacement: Replacement,
    pub properties: Vec<PropertyChange>,
    /// Changed resource attributes (`DeletionPolicy`, `Metadata`, ...): no interruption.
    pub attributes: Vec<String>,
    /// Why this is data loss, if it is.
    pub data_loss: Option<String>,
    /// Each way access is widened.
    pub widening: Vec<String>,
    /// Protective settings weakened ([`crate::guardrails`]), each a data-loss risk or widening.
    pub guardrails: Vec<Weakened>,
    /// Whether the resource holds data, and who says so (the construct's declaration in the
    /// template metadata, else the type table).
    pub statefulness: Option<Statefulness>,
    /// The acceptance that covers this change's risk, if any.
    pub accepted: Option<Acceptance>,
    pub notes: Vec<String>,
    /// Set when the resource leaves one reviewed stack and enters another under the same logical
    /// id and type (`crate::moves`): `"<from stack> -> <to stack>"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<String>,
    /// The retention policy that applies to the old resource (internal).
    #[serde(skip)]
    pub(crate) old_policy: Option<String>,
    /// Widening and guardrails were judged from the change set's own property values.
    #[serde(skip)]
    pub(crate) judged: bool,
}

/// A protective setting weakened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Weakened {
    /// `data-loss` or `widening`.
    pub risk: Risk,
    /// The setting, e.g. `PublicAccessBlockConfiguration/BlockPublicAcls`.
    pub setting: String,
    pub message: String,
}

/// Whether a resource holds data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Holds data: replacing or deleting it loses data.
    Data,
    /// Replaceable compute around data kept elsewhere: replacing it interrupts, loses nothing.
    Compute,
}

/// Who said what a resource holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Declared {
    /// The construct, in the template metadata (`tracker:statefulness`).
    Construct,
    /// The review's type table ([`risk::STATEFUL`]).
    TypeTable,
}

/// What a resource holds and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statefulness {
    pub role: Role,
    pub reason: String,
    pub source: Declared,
}

/// A known risk accepted on purpose (`--accept TARGET=REASON`, or a line of `--accept-file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acceptance {
    /// A construct path (with or without the stack), a prefix of one, or a logical id.
    pub target: String,
    pub reason: String,
    /// Where it was given: `--accept`, or `FILE:LINE`.
    pub origin: String,
}

impl Change {
    pub(crate) fn new(id: &str, type_: &str, path: Option<String>, action: Action) -> Change {
        Change {
            logical_id: id.to_string(),
            resource_type: type_.to_string(),
            construct_path: path,
            action,
            replacement: if action == Action::Replace {
                Replacement::Always
            } else {
                Replacement::Never
            },
            properties: Vec::new(),
            attributes: Vec::new(),
            data_loss: None,
            moved: None,
            widening: Vec::new(),
            guardrails: Vec::new(),
            statefulness: None,
            accepted: None,
            notes: Vec::new(),
            old_policy: None,
            judged: false,
        }
    }

    /// The risk of the change, accepted or not.
    pub fn risk(&self) -> Risk {
        let guard = |r: Risk| self.guardrails.iter().any(|g| g.risk == r);
        if self.data_loss.is_some() || guard(Risk::DataLoss) {
            Risk::DataLoss
        } else if !self.widening.is_empty() || guard(Risk::Widening) {
            Risk::Widening
        } else {
            Risk::None
        }
    }

    /// The risk that still counts: none once accepted.
    pub fn open_risk(&self) -> Risk {
        if self.accepted.is_some() {
            Risk::None
        } else {
            self.risk()
        }
    }

    /// The construct, for people: the path without the stack and without the trailing
    /// `Resource`/`Default` of L1 resources, joined with ` › `; the logical id when there is no
    /// path.
    pub fn construct(&self) -> String {
        let Some(p) = &self.construct_path else {
            return self.logical_id.clone();
        };
        let mut segs: Vec<&str> = p.split('/').collect();
        if segs.len() > 1 {
            segs.remove(0);
        }
        while segs.len() > 1 && matches!(segs.last(), Some(&"Resource") | Some(&"Default")) {
            segs.pop();
        }
        segs.join(" › ")
    }

    /// In a data stack every replacement or deletion counts as data loss, whatever the type:
    /// nothing there is meant to go without someone accepting it (the stack policy denies it),
    /// except what its construct declares replaceable compute.
    pub(crate) fn guard_data_stack(&mut self) {
        let destroys = matches!(self.action, Action::Delete | Action::Replace);
        let compute = self
            .statefulness
            .as_ref()
            .is_some_and(|s| s.role == Role::Compute);
        if destroys && self.data_loss.is_none() && !compute {
            self.data_loss = Some(format!(
                "{} in a data stack: needs explicit acceptance (the stack policy denies it \
                 unless overridden; see the README, \"Changing a data stack on purpose\")",
                if self.action == Action::Replace {
                    "replaced"
                } else {
                    "deleted"
                }
            ));
        }
    }

    /// Sets `data_loss` from what the resource holds (the construct's declaration first, the
    /// type table second) and the action; a replaced or deleted compute resource gets an
    /// interruption note instead.
    pub(crate) fn assess(&mut self) {
        if self.statefulness.is_none() {
            self.statefulness = risk::stateful(&self.resource_type).map(|why| Statefulness {
                role: Role::Data,
                reason: why.to_string(),
                source: Declared::TypeTable,
            });
        }
        let destroys = matches!(self.action, Action::Delete | Action::Replace);
        let Some(st) = self.statefulness.clone() else {
            return;
        };
        if !destroys {
            return;
        }
        let replaced = self.action == Action::Replace;
        let by = match st.source {
            Declared::Construct => "declared by its construct",
            Declared::TypeTable => "by its resource type",
        };
        match st.role {
            Role::Data => {
                let cond = if self.replacement == Replacement::Conditional {
                    "may be replaced (depends on deploy-time values): "
                } else {
                    ""
                };
                self.data_loss = Some(format!(
                    "{cond}{} ({by}); {}",
                    st.reason,
                    risk::retention_note(self.old_policy.as_deref(), replaced)
                ));
            }
            Role::Compute => self.notes.push(format!(
                "interruption, not data loss: replaceable compute ({by}): {}; it is {} and its \
                 clients wait for the new one",
                st.reason,
                if replaced { "replaced" } else { "deleted" }
            )),
        }
    }

    fn headline(&self) -> String {
        let mut s = match (self.action, self.replacement) {
            (Action::Replace, Replacement::Conditional) => "REPLACE (conditional)".to_string(),
            (a, _) => a.as_str().to_uppercase(),
        };
        if let Some(moved) = &self.moved {
            s = format!("MOVE {moved} ({})", s.to_lowercase());
        }
        match self.risk() {
            Risk::DataLoss => s.push_str(" — data loss"),
            Risk::Widening => s.push_str(" — widening"),
            Risk::None => {}
        }
        if self.accepted.is_some() {
            s.push_str(" (accepted)");
        }
        s
    }

    fn why(&self) -> Vec<String> {
        let mut out = Vec::new();
        let forcing: Vec<&str> = self
            .properties
            .iter()
            .filter(|p| p.replacement != Replacement::Never)
            .map(|p| p.path.as_str())
            .collect();
        if !forcing.is_empty() {
            out.push(format!("replaced because of: {}", forcing.join(", ")));
        }
        let other: Vec<&str> = self
            .properties
            .iter()
            .filter(|p| p.replacement == Replacement::Never)
            .map(|p| p.path.as_str())
            .collect();
        if !other.is_empty() {
            out.push(format!("changed in place: {}", other.join(", ")));
        }
        if !self.attributes.is_empty() {
            out.push(format!(
                "attributes (no interruption): {}",
                self.attributes.join(", ")
            ));
        }
        if let Some(d) = &self.data_loss {
            out.push(format!("data loss: {d}"));
        }
        for w in &self.widening {
            out.push(format!("widening: {w}"));
        }
        for g in &self.guardrails {
            let r = match g.risk {
                Risk::DataLoss => "data-loss risk",
                _ => "widening",
            };
            out.push(format!("guardrail weakened ({r}): {}", g.message));
        }
        out.extend(self.notes.iter().cloned());
        if let Some(a) = &self.accepted {
            out.push(format!("accepted ({}): {}", a.origin, a.reason));
        }
        out
    }
}

/// Where the changes came from.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// Offline: two templates compared.
    TemplateDiff { baseline: String, template: String },
    /// Online: a CloudFormation change set (CloudFormation's own classification).
    ChangeSet {
        change_set: String,
        template: Option<String>,
    },
}

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For a person in a terminal.
    Text,
    /// A pull-request comment.
    Markdown,
    /// For CI: schema [`SCHEMA`] version [`SCHEMA_VERSION`].
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown format {other:?}: expected text, markdown or json"
            )),
        }
    }
}

/// The review of one stack.
#[derive(Clone, Debug)]
pub struct Report {
    pub stack: String,
    pub source: Source,
    /// Ordered: data loss, then widening, then the rest; each by construct path, then logical id.
    pub changes: Vec<Change>,
    /// The cfn-lint version the replacement table came from.
    pub cfn_lint: String,
    /// The acceptances that matched changes of this stack, with the logical ids they matched
    /// (the audit trail; [`crate::accept::apply`]).
    pub acceptances: Vec<(Acceptance, Vec<String>)>,
    /// What the change does to the monthly bill, when both templates and a region are known
    /// ([`CostChange::of`]); `None` otherwise (a change set without templates).
    pub cost: Option<CostChange>,
}

/// The monthly cost before and after the change (`tracker_cost`'s estimate of each template
/// with the default assumptions), and the kinds whose count or cost moves.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostChange {
    pub region: String,
    pub price_date: String,
    pub before_usd: f64,
    pub after_usd: f64,
    pub kinds: Vec<tracker_cost::KindDelta>,
    /// Why there is no figure (a price the table lacks): the review goes on without it.
    pub error: Option<String>,
}

impl CostChange {
    /// The cost change of `stack` from `old` to `new` in `region`.
    pub fn of(stack: &str, old: &Value, new: &Value, region: &str) -> CostChange {
        let prices = tracker_cost::PriceTable::committed();
        let assumptions = tracker_cost::Assumptions::default();
        let estimate =
            |t: &Value| tracker_cost::estimate(&[(stack, t)], region, &prices, &assumptions);
        match (estimate(old), estimate(new)) {
            (Ok(before), Ok(after)) => CostChange {
                region: region.to_string(),
                price_date: prices.date.clone(),
                before_usd: before.total(),
                after_usd: after.total(),
                kinds: tracker_cost::difference(&before, &after),
                error: None,
            },
            (Err(e), _) | (_, Err(e)) => CostChange {
                region: region.to_string(),
                price_date: prices.date.clone(),
                before_usd: 0.0,
                after_usd: 0.0,
                kinds: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }

    /// `+$150.12/month ($853.55 -> $1003.67)`, or why there is no figure.
    pub fn headline(&self) -> String {
        if let Some(e) = &self.error {
            return format!("not estimated: {e}");
        }
        let d = self.after_usd - self.before_usd;
        format!(
            "{}${:.2}/month (${:.2} -> ${:.2}, {} list prices of {})",
            if d < 0.0 { "-" } else { "+" },
            d.abs(),
            self.before_usd,
            self.after_usd,
            self.region,
            self.price_date
        )
    }

    fn to_json(&self) -> Value {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "region": self.region,
            "price_date": self.price_date,
            "currency": "USD",
            "monthly_before": round(self.before_usd),
            "monthly_after": round(self.after_usd),
            "monthly_delta": round(self.after_usd - self.before_usd),
            "kinds": self.kinds.iter().map(|k| json!({
                "kind": k.kind,
                "count_before": k.count_before,
                "count_after": k.count_after,
                "monthly_delta": round(k.monthly_delta()),
                "summary": k.describe(),
            })).collect::<Vec<_>>(),
            "error": self.error,
        })
    }
}

impl Report {
    pub(crate) fn new(stack: &str, source: Source, mut changes: Vec<Change>) -> Report {
        let data_stack = is_data_stack(stack);
        for c in &mut changes {
            c.assess();
            if data_stack {
                c.guard_data_stack();
            }
        }
        changes.sort_by(|a, b| {
            (a.risk(), a.construct(), &a.logical_id).cmp(&(b.risk(), b.construct(), &b.logical_id))
        });
        Report {
            stack: stack.to_string(),
            source,
            changes,
            cfn_lint: crate::spec::Table::get().cfn_lint.clone(),
            acceptances: Vec::new(),
            cost: None,
        }
    }

    /// The most severe risk not accepted.
    pub fn verdict(&self) -> Risk {
        self.changes
            .iter()
            .map(Change::open_risk)
            .min()
            .unwrap_or(Risk::None)
    }

    /// How many risky changes are accepted.
    pub fn accepted_count(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.accepted.is_some() && c.risk() != Risk::None)
            .count()
    }

    /// [`EXIT_DATA_LOSS`], [`EXIT_WIDENING`] or [`EXIT_SAFE`].
    pub fn exit_code(&self) -> u8 {
        match self.verdict() {
            Risk::DataLoss => EXIT_DATA_LOSS,
            Risk::Widening => EXIT_WIDENING,
            Risk::None => EXIT_SAFE,
        }
    }

    fn count(&self, a: Action) -> usize {
        self.changes.iter().filter(|c| c.action == a).count()
    }

    fn risk_count(&self, r: Risk) -> usize {
        self.changes.iter().filter(|c| c.open_risk() == r).count()
    }

    fn summary_line(&self) -> String {
        let n = self.changes.len();
        if n == 0 {
            return "no changes".to_string();
        }
        let parts: Vec<String> = [Action::Replace, Action::Delete, Action::Add, Action::Modify]
            .iter()
            .filter(|a| self.count(**a) > 0)
            .map(|a| format!("{} {}", self.count(*a), a.as_str()))
            .collect();
        format!(
            "{n} change{}: {}",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }

    fn verdict_line(&self) -> String {
        match self.verdict() {
            Risk::DataLoss => format!(
                "DATA LOSS: {} change(s) replace or delete stateful resources (exit {EXIT_DATA_LOSS})",
                self.risk_count(Risk::DataLoss)
            ),
            Risk::Widening => format!(
                "WIDENING: {} change(s) widen access (exit {EXIT_WIDENING})",
                self.risk_count(Risk::Widening)
            ),
            Risk::None if self.accepted_count() > 0 => format!(
                "safe: every risk accepted ({} accepted change(s)) (exit 0)",
                self.accepted_count()
            ),
            Risk::None => "safe: no data loss, no widened access (exit 0)".to_string(),
        }
    }

    fn source_line(&self) -> String {
        match &self.source {
            Source::TemplateDiff { baseline, template } => {
                format!("{template} against {baseline}")
            }
            Source::ChangeSet { change_set, .. } => format!("change set {change_set}"),
        }
    }

    /// The report as JSON (schema [`SCHEMA`] [`SCHEMA_VERSION`]).
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).expect("a change serializes");
                v["construct"] = json!(c.construct());
                v["risk"] = serde_json::to_value(c.risk()).expect("risk serializes");
                v
            })
            .collect();
        json!({
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "stack": self.stack,
            "source": self.source,
            "replacement_table": {"cfn_lint": self.cfn_lint},
            "summary": {
                "verdict": match self.verdict() {
                    Risk::DataLoss => "data-loss",
                    Risk::Widening => "widening",
                    Risk::None => "safe",
                },
                "exit_code": self.exit_code(),
                "changes": self.changes.len(),
                "add": self.count(Action::Add),
                "modify": self.count(Action::Modify),
                "replace": self.count(Action::Replace),
                "delete": self.count(Action::Delete),
                "data_loss": self.risk_count(Risk::DataLoss),
                "widening": self.risk_count(Risk::Widening),
                "accepted": self.accepted_count(),
            },
            "acceptances": self.acceptances.iter().map(|(a, ids)| json!({
                "target": a.target, "reason": a.reason, "origin": a.origin, "matched": ids,
            })).collect::<Vec<_>>(),
            "changes": changes,
            "cost": self.cost.as_ref().map(CostChange::to_json),
        })
    }

    /// Renders the report.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&self.to_json()).expect("JSON");
                s.push('\n');
                s
            }
            Format::Text => self.render_text(),
            Format::Markdown => self.render_markdown(),
        }
    }

    fn render_text(&self) -> String {
        let mut s = format!(
            "Review of {}: {}\n{}\n{}\n",
            self.stack,
            self.source_line(),
            self.summary_line(),
            self.verdict_line()
        );
        let mut last = None;
        for c in &self.changes {
            let r = c.risk();
            if last != Some(r) {
                s.push_str(match r {
                    Risk::DataLoss => "\nDATA LOSS\n",
                    Risk::Widening => "\nWIDENING\n",
                    Risk::None => "\nOTHER CHANGES\n",
                });
                last = Some(r);
            }
            s.push_str(&format!(
                "  {}: {}\n      {} {}\n",
                c.construct(),
                c.headline(),
                c.resource_type,
                c.logical_id
            ));
            for w in c.why() {
                s.push_str(&format!("      {w}\n"));
            }
        }
        if let Some(cost) = &self.cost {
            s.push_str(&format!("\nCOST {}\n", cost.headline()));
            for k in &cost.kinds {
                s.push_str(&format!("  {}\n", k.describe()));
            }
        }
        if !self.acceptances.is_empty() {
            s.push_str("\nACCEPTED\n");
            for (a, ids) in &self.acceptances {
                s.push_str(&format!(
                    "  {}: {} ({}; matched {})\n",
                    a.target,
                    a.reason,
                    a.origin,
                    ids.join(", ")
                ));
            }
        }
        s
    }

    fn render_markdown(&self) -> String {
        let icon = match self.verdict() {
            Risk::DataLoss => "🛑",
            Risk::Widening => "⚠️",
            Risk::None => "✅",
        };
        let mut s = format!(
            "### {icon} Infrastructure review: `{}`\n\n{}. **{}**\n\n<sub>{}</sub>\n",
            self.stack,
            self.summary_line(),
            self.verdict_line(),
            md_escape(&self.source_line())
        );
        let risky: Vec<&Change> = self
            .changes
            .iter()
            .filter(|c| c.risk() != Risk::None)
            .collect();
        let table = |changes: &[&Change]| {
            let mut t = String::from(
                "\n| | Construct | Change | Resource | Why |\n|---|---|---|---|---|\n",
            );
            for c in changes {
                let flag = match c.risk() {
                    Risk::DataLoss => "🛑 data loss",
                    Risk::Widening => "⚠️ widening",
                    Risk::None => "",
                };
                t.push_str(&format!(
                    "| {flag} | {} | **{}** | `{}` `{}` | {} |\n",
                    md_escape(&c.construct()),
                    c.headline().split(" — ").next().unwrap_or_default(),
                    c.resource_type,
                    c.logical_id,
                    c.why()
                        .iter()
                        .map(|w| md_escape(w))
                        .collect::<Vec<_>>()
                        .join("<br>")
                ));
            }
            t
        };
        if !risky.is_empty() {
            s.push_str(&table(&risky));
        }
        if let Some(cost) = &self.cost {
            s.push_str(&format!(
                "\n**Monthly cost** {}\n",
                md_escape(&cost.headline())
            ));
            for k in &cost.kinds {
                s.push_str(&format!("- {}\n", md_escape(&k.describe())));
            }
        }
        if !self.acceptances.is_empty() {
            s.push_str("\n**Accepted risks**\n\n");
            for (a, ids) in &self.acceptances {
                s.push_str(&format!(
                    "- `{}`: {} ({}; matched {})\n",
                    md_escape(&a.target),
                    md_escape(&a.reason),
                    md_escape(&a.origin),
                    ids.join(", ")
                ));
            }
        }
        let rest: Vec<&Change> = self
            .changes
            .iter()
            .filter(|c| c.risk() == Risk::None)
            .collect();
        if !rest.is_empty() {
            s.push_str(&format!(
                "\n<details><summary>{} other change(s)</summary>\n{}\n</details>\n",
                rest.len(),
                table(&rest)
            ));
        }
        s
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, type_: &str, path: &str, action: Action) -> Change {
        Change::new(id, type_, Some(path.to_string()), action)
    }

    #[test]
    fn in_a_data_stack_any_replacement_or_deletion_needs_acceptance() {
        let changes = || {
            vec![
                change(
                    "Rule1",
                    "AWS::EC2::SecurityGroupIngress",
                    "X/Network/Rule/Resource",
                    Action::Delete,
                ),
                change(
                    "Sg1",
                    "AWS::EC2::SecurityGroup",
                    "X/Network/Sg/Resource",
                    Action::Replace,
                ),
                change(
                    "Sg2",
                    "AWS::EC2::SecurityGroup",
                    "X/Network/Sg2/Resource",
                    Action::Modify,
                ),
                change("New1", "AWS::SNS::Topic", "X/Topic/Resource", Action::Add),
            ]
        };
        let source = || Source::TemplateDiff {
            baseline: "golden".into(),
            template: "new".into(),
        };
        let data = Report::new("TrackerStagingData", source(), changes());
        assert_eq!(data.exit_code(), EXIT_DATA_LOSS);
        assert_eq!(
            data.risk_count(Risk::DataLoss),
            2,
            "{}",
            data.render(Format::Text)
        );
        assert!(data.changes[0]
            .data_loss
            .as_deref()
            .unwrap()
            .contains("explicit acceptance"));
        // The same changes in a services stack are not data loss (no stateful type).
        let services = Report::new("TrackerStaging", source(), changes());
        assert_eq!(services.exit_code(), EXIT_SAFE);
        assert!(is_data_stack("TrackerProductionData"));
        assert!(!is_data_stack("TrackerProduction"));
        assert!(!is_data_stack("Data"));
    }

    fn sample() -> Report {
        let mut vol = change(
            "DataVolume1",
            "AWS::EC2::Volume",
            "TrackerStaging/Data/Volume/Resource",
            Action::Replace,
        );
        vol.properties.push(PropertyChange {
            path: "AvailabilityZone".into(),
            replacement: Replacement::Always,
        });
        vol.old_policy = Some("Snapshot".into());
        let mut sg = change(
            "ApiSg1",
            "AWS::EC2::SecurityGroup",
            "TrackerStaging/Api/SecurityGroup/Resource",
            Action::Modify,
        );
        sg.properties.push(PropertyChange {
            path: "SecurityGroupIngress".into(),
            replacement: Replacement::Never,
        });
        sg.widening
            .push("ingress tcp 443 from 0.0.0.0/0 (anywhere on the internet) is new".into());
        let tag = change(
            "Topic1",
            "AWS::SNS::Topic",
            "TrackerStaging/Alarms/Topic/Resource",
            Action::Modify,
        );
        let mut no_path = Change::new("Orphan", "AWS::SQS::Queue", None, Action::Add);
        no_path.notes.push("a | pipe".into());
        Report::new(
            "TrackerStaging",
            Source::TemplateDiff {
                baseline: "golden".into(),
                template: "cdk.out/TrackerStaging.template.json".into(),
            },
            vec![tag, no_path, sg, vol],
        )
    }

    #[test]
    fn order_is_risk_then_construct() {
        let r = sample();
        let order: Vec<&str> = r.changes.iter().map(|c| c.logical_id.as_str()).collect();
        assert_eq!(order, ["DataVolume1", "ApiSg1", "Topic1", "Orphan"]);
        assert_eq!(r.changes[0].construct(), "Data › Volume");
        assert_eq!(r.changes[3].construct(), "Orphan");
    }

    #[test]
    fn exit_codes_data_loss_wins_over_widening() {
        let mut r = sample();
        assert_eq!(r.verdict(), Risk::DataLoss);
        assert_eq!(r.exit_code(), EXIT_DATA_LOSS);
        r.changes.retain(|c| c.risk() != Risk::DataLoss);
        assert_eq!(r.exit_code(), EXIT_WIDENING);
        r.changes.retain(|c| c.risk() != Risk::Widening);
        assert_eq!(r.exit_code(), EXIT_SAFE);
        r.changes.clear();
        assert_eq!(r.exit_code(), EXIT_SAFE);
        assert_eq!((EXIT_SAFE, EXIT_DATA_LOSS, EXIT_WIDENING), (0, 10, 11));
    }

    #[test]
    fn one_exit_code_table_for_help_readme_and_code() {
        let table = exit_code_table();
        let codes: Vec<u8> = EXIT_CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, [0, 10, 11, 2, 4, 5, 12]);
        assert!(table.starts_with("Exit codes:\n   0  safe"), "{table}");
        // The README documents the same table, line for line.
        let readme = include_str!("../../README.md");
        for line in table.lines().skip(1) {
            assert!(
                readme.contains(line),
                "README.md lacks the exit-code line {line:?}: paste `exit_code_table()`"
            );
        }
    }

    #[test]
    fn json_shape_is_stable() {
        let v = sample().to_json();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["version"], "1.2");
        // 1.2 added `cost`: null without both templates and a region.
        assert!(v["cost"].is_null());
        assert_eq!(v["stack"], "TrackerStaging");
        assert_eq!(v["source"]["kind"], "template-diff");
        assert_eq!(v["source"]["baseline"], "golden");
        let s = &v["summary"];
        assert_eq!(s["verdict"], "data-loss");
        assert_eq!(s["exit_code"], 10);
        assert_eq!(
            (
                s["changes"].as_u64(),
                s["add"].as_u64(),
                s["modify"].as_u64()
            ),
            (Some(4), Some(1), Some(2))
        );
        assert_eq!(
            (s["replace"].as_u64(), s["delete"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(
            (s["data_loss"].as_u64(), s["widening"].as_u64()),
            (Some(1), Some(1))
        );
        assert!(v["replacement_table"]["cfn_lint"].is_string());
        let c = &v["changes"][0];
        let mut keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "accepted",
                "action",
                "attributes",
                "construct",
                "construct_path",
                "data_loss",
                "guardrails",
                "logical_id",
                "notes",
                "properties",
                "replacement",
                "risk",
                "statefulness",
                "type",
                "widening"
            ]
        );
        assert_eq!(c["action"], "replace");
        assert_eq!(c["replacement"], "always");
        assert_eq!(c["risk"], "data-loss");
        assert_eq!(c["type"], "AWS::EC2::Volume");
        assert_eq!(c["construct"], "Data › Volume");
        assert_eq!(c["construct_path"], "TrackerStaging/Data/Volume/Resource");
        assert_eq!(
            c["properties"][0],
            json!({"path": "AvailabilityZone", "replacement": "always"})
        );
        assert!(c["data_loss"]
            .as_str()
            .unwrap()
            .contains("snapshotted (UpdateReplacePolicy: Snapshot); the new one starts empty"));
        assert_eq!(
            c["statefulness"],
            json!({"role": "data", "reason": risk::stateful("AWS::EC2::Volume").unwrap(),
                   "source": "type-table"})
        );
        assert_eq!(v["acceptances"], json!([]));
        assert_eq!(s["accepted"], 0);
        assert_eq!(v["changes"][1]["risk"], "widening");
        assert_eq!(v["changes"][3]["construct_path"], Value::Null);
        let empty = Report::new("S", sample().source, Vec::new()).to_json();
        assert_eq!(empty["summary"]["verdict"], "safe");
        assert_eq!(empty["summary"]["exit_code"], 0);
        // The rendered form is the same JSON.
        let parsed: Value = serde_json::from_str(&sample().render(Format::Json)).unwrap();
        assert_eq!(parsed, v);
    }

    #[test]
    fn text_leads_with_risk() {
        let t = sample().render(Format::Text);
        let dl = t
            .find("DATA LOSS\n  Data › Volume: REPLACE — data loss")
            .unwrap();
        let w = t
            .find("WIDENING\n  Api › SecurityGroup: MODIFY — widening")
            .unwrap();
        let o = t.find("OTHER CHANGES").unwrap();
        assert!(dl < w && w < o, "{t}");
        assert!(t.contains("replaced because of: AvailabilityZone"), "{t}");
    }

    #[test]
    fn markdown_is_a_pull_request_comment() {
        let m = sample().render(Format::Markdown);
        assert!(
            m.starts_with("### 🛑 Infrastructure review: `TrackerStaging`\n"),
            "{m}"
        );
        assert!(m.contains("**DATA LOSS: 1 change(s)"), "{m}");
        assert!(m.contains("| | Construct | Change | Resource | Why |\n|---|---|---|---|---|\n"));
        assert!(m.contains(
            "| 🛑 data loss | Data › Volume | **REPLACE** | `AWS::EC2::Volume` `DataVolume1` | replaced because of: AvailabilityZone<br>data loss:"
        ), "{m}");
        assert!(m.contains("| ⚠️ widening | Api › SecurityGroup |"), "{m}");
        // Other changes fold away; table cells are escaped.
        assert!(
            m.contains("<details><summary>2 other change(s)</summary>"),
            "{m}"
        );
        assert!(m.contains("a \\| pipe"), "{m}");
        let safe = Report::new("S", sample().source, Vec::new()).render(Format::Markdown);
        assert!(safe.starts_with("### ✅"), "{safe}");
        assert!(!safe.contains("<details>"), "{safe}");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<Format>(), Ok(Format::Json));
        assert_eq!("markdown".parse::<Format>(), Ok(Format::Markdown));
        assert!("yaml"
            .parse::<Format>()
            .unwrap_err()
            .contains("text, markdown or json"));
    }
}
