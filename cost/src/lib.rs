//! `tracker-cost`: the monthly cost of a synthesized CloudFormation template.
//!
//! Each billable resource of the template becomes one or more [`Line`]s (the construct that owns
//! it, a kind such as `NAT gateway`, what is counted, dollars a month), priced from the committed,
//! dated price table `cost/prices.json` ([`PriceTable::committed`]: on-demand list prices per
//! region, each with the pricing page it comes from) and usage [`Assumptions`] with documented
//! defaults (traffic, stored data, load-balancer capacity units), which `--assume KEY=VALUE`
//! overrides. `tracker-cdk cost` prints an [`Estimate`]; the review ([`difference`]) prints what a
//! change adds to or takes from the bill.
//!
//! What is counted, per resource type:
//!
//! | type | monthly cost |
//! |---|---|
//! | `AWS::ECS::Service` (Fargate) | `DesiredCount` tasks x hours x (vCPU x vCPU-hour + GB x GB-hour) of its task definition's architecture, the Spot share (from the capacity-provider strategy: bases first, the rest by weight) at the table's Spot discount; with scheduled scaling (off hours) on its scalable target, the week's average task count instead ([`weekly_tasks`]) |
//! | `AWS::EC2::Instance` | hours x the instance type's hourly price; its root volumes as `EBS volume` |
//! | `AWS::EC2::Volume` | GB x the volume type's GB-month |
//! | `AWS::EC2::EIP` | hours x the public IPv4 hourly price |
//! | `AWS::EC2::NatGateway` | hours + `natGbPerGateway` GB processed |
//! | `AWS::EC2::VPCEndpoint` (interface) | hours x its subnets (one per AZ) + `endpointGbPerEndpoint` GB; gateway endpoints are free |
//! | `AWS::ElasticLoadBalancingV2::LoadBalancer` | hours + `albLcu` / `nlbLcu` capacity units every hour |
//! | `AWS::EFS::FileSystem` | `efsGb` GB-month (Standard) |
//! | `AWS::ElastiCache::ReplicationGroup` | `NumCacheClusters` nodes x hours x the node type's price for its engine |
//! | `AWS::CloudFront::Distribution` | `cloudfrontGbPerDistribution` GB out + `cloudfrontMillionRequestsPerDistribution` million HTTPS requests |
//! | `AWS::S3::Bucket` | `s3GbPerBucket` GB-month (Standard) |
//! | `AWS::Logs::LogGroup` | `logGbPerGroup` GB ingested and the same stored |
//! | `AWS::CloudWatch::Alarm`, `AWS::CloudWatch::Dashboard` | per alarm / dashboard a month |
//! | `AWS::SecretsManager::Secret` | per secret a month |
//! | `AWS::WAFv2::WebACL` | the ACL + each of its rules a month + `wafMillionRequests` million requests |
//! | `AWS::KMS::Key` | per key a month |
//!
//! Not counted (listed in the estimate as such): data transfer out of AWS other than CloudFront's,
//! cross-AZ traffic, EBS and AWS Backup snapshots, Container Insights metrics, S3 requests,
//! Route 53, SNS; the services' tasks beyond `DesiredCount` when they autoscale.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What the estimate leaves out, as printed with it.
pub const NOT_COUNTED: &str = "data transfer out of AWS (but CloudFront's), cross-AZ traffic, \
     EBS/AWS Backup snapshots, Container Insights metrics, S3 requests, Route 53, SNS, tasks \
     beyond each service's desired count";

/// One price of the table.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Price {
    pub usd: f64,
    pub unit: String,
    pub source: String,
}

/// The committed price table: the date the prices were read, and per region, per key, a price.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PriceTable {
    pub date: String,
    pub currency: String,
    pub about: String,
    pub regions: BTreeMap<String, BTreeMap<String, Price>>,
}

impl PriceTable {
    /// `cost/prices.json`, built into the crate.
    pub fn committed() -> PriceTable {
        serde_json::from_str(include_str!("../prices.json")).expect("cost/prices.json is valid")
    }

    /// The price `key` in `region`; a missing one is recorded in `missing` (all reported at
    /// once) and counts 0.
    fn get(&self, region: &str, key: &str, missing: &mut Vec<String>) -> f64 {
        match self.regions.get(region).and_then(|r| r.get(key)) {
            Some(p) => p.usd,
            None => {
                let m = format!("{key} in {region}");
                if !missing.contains(&m) {
                    missing.push(m);
                }
                0.0
            }
        }
    }
}

/// Usage the template does not say, with documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assumptions {
    values: BTreeMap<&'static str, f64>,
}

/// Every assumption: key, default, meaning.
pub const ASSUMPTIONS: [(&str, f64, &str); 12] = [
    (
        "hoursPerMonth",
        730.0,
        "hours in a month (AWS's convention: 24 x 365 / 12)",
    ),
    (
        "natGbPerGateway",
        100.0,
        "GB processed by each NAT gateway a month",
    ),
    (
        "endpointGbPerEndpoint",
        10.0,
        "GB processed by each interface endpoint a month",
    ),
    ("albLcu", 1.0, "LCUs an ALB uses on average every hour"),
    ("nlbLcu", 1.0, "NLCUs an NLB uses on average every hour"),
    ("efsGb", 1.0, "GB stored on each EFS file system (Standard)"),
    (
        "cloudfrontGbPerDistribution",
        10.0,
        "GB each distribution serves a month",
    ),
    (
        "cloudfrontMillionRequestsPerDistribution",
        1.0,
        "million HTTPS requests each distribution serves a month",
    ),
    ("s3GbPerBucket", 5.0, "GB stored in each bucket (Standard)"),
    (
        "logGbPerGroup",
        2.0,
        "GB each log group ingests a month (and stores)",
    ),
    (
        "wafMillionRequests",
        1.0,
        "million requests each web ACL inspects a month",
    ),
    (
        "fargateSpotDiscount",
        -1.0,
        "Fargate Spot's discount off on-demand, 0-1 (default: the price table's)",
    ),
];

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            values: ASSUMPTIONS.iter().map(|(k, v, _)| (*k, *v)).collect(),
        }
    }
}

impl Assumptions {
    /// Sets `key` from `KEY=VALUE` texts; every bad one is reported at once.
    pub fn with_overrides(mut self, overrides: &[String]) -> Result<Assumptions, CostError> {
        let mut problems = Vec::new();
        for o in overrides {
            let Some((key, value)) = o.split_once('=') else {
                problems.push(format!("--assume {o:?}: expected KEY=VALUE"));
                continue;
            };
            let Some((name, ..)) = ASSUMPTIONS.iter().find(|(k, ..)| *k == key) else {
                let keys: Vec<&str> = ASSUMPTIONS.iter().map(|(k, ..)| *k).collect();
                problems.push(format!(
                    "--assume {key}: not an assumption; one of {}",
                    keys.join(", ")
                ));
                continue;
            };
            match value.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {
                    if *name == "fargateSpotDiscount" && v > 1.0 {
                        problems.push(format!("--assume {key}={value}: a fraction, 0-1"));
                    } else {
                        self.values.insert(name, v);
                    }
                }
                _ => problems.push(format!(
                    "--assume {key}={value}: a non-negative number is allowed"
                )),
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(CostError::Assumptions(problems.join("\n")))
        }
    }

    /// The value of `key` (one of [`ASSUMPTIONS`]).
    pub fn get(&self, key: &str) -> f64 {
        self.values[key]
    }
}

/// Why an estimate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("{0}")]
    Assumptions(String),
    /// Prices the table lacks (every one listed).
    #[error(
        "no price in cost/prices.json for: {0}. Add each, with its source, from the AWS pricing \
         page of that region"
    )]
    MissingPrices(String),
    /// A property the estimate needs is not a literal in the template.
    #[error("{stack}: {logical_id} ({kind}): {reason}")]
    Template {
        stack: String,
        logical_id: String,
        kind: String,
        reason: String,
    },
}

/// One priced item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub stack: String,
    /// The top-level construct that owns it (`Api`, `Network`), from `aws:cdk:path`; the logical
    /// id without one.
    pub construct: String,
    pub logical_id: String,
    /// What it is: `Fargate`, `NAT gateway`, ...
    pub kind: String,
    /// How many of the kind (tasks for `Fargate task`, nodes for `ElastiCache node`, resources
    /// otherwise).
    pub count: f64,
    /// What was counted and at what price.
    pub detail: String,
    pub monthly_usd: f64,
}

/// A stack's (or several stacks') estimate.
///
/// A line's `count` is of its kind: tasks for `Fargate task`, nodes for `ElastiCache node`,
/// resources otherwise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub stacks: Vec<String>,
    pub region: String,
    pub price_date: String,
    pub lines: Vec<Line>,
    pub assumptions: Assumptions,
}

/// A kind's total.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindTotal {
    pub kind: String,
    pub count: f64,
    pub monthly_usd: f64,
}

impl Estimate {
    /// The monthly total.
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.monthly_usd).sum()
    }

    /// Totals per kind, largest first.
    pub fn by_kind(&self) -> Vec<KindTotal> {
        let mut kinds: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for l in &self.lines {
            let e = kinds.entry(&l.kind).or_default();
            e.0 += l.count;
            e.1 += l.monthly_usd;
        }
        let mut v: Vec<KindTotal> = kinds
            .into_iter()
            .map(|(kind, (count, monthly_usd))| KindTotal {
                kind: kind.to_string(),
                count,
                monthly_usd,
            })
            .collect();
        v.sort_by(|a, b| {
            b.monthly_usd
                .total_cmp(&a.monthly_usd)
                .then(a.kind.cmp(&b.kind))
        });
        v
    }

    /// Totals per `(stack, construct)`, largest first.
    pub fn by_construct(&self) -> Vec<(String, String, f64)> {
        let mut m: BTreeMap<(&str, &str), f64> = BTreeMap::new();
        for l in &self.lines {
            *m.entry((&l.stack, &l.construct)).or_default() += l.monthly_usd;
        }
        let mut v: Vec<(String, String, f64)> = m
            .into_iter()
            .map(|((s, c), u)| (s.to_string(), c.to_string(), u))
            .collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2).then((&a.0, &a.1).cmp(&(&b.0, &b.1))));
        v
    }

    /// The JSON of `--json`.
    pub fn to_json(&self) -> Value {
        json!({
            "stacks": self.stacks,
            "region": self.region,
            "currency": "USD",
            "priceDate": self.price_date,
            "monthlyTotal": cents(self.total()),
            "byKind": self.by_kind().iter().map(|k| json!({
                "kind": k.kind, "count": k.count, "monthly": cents(k.monthly_usd)
            })).collect::<Vec<_>>(),
            "byConstruct": self.by_construct().iter().map(|(s, c, u)| json!({
                "stack": s, "construct": c, "monthly": cents(*u)
            })).collect::<Vec<_>>(),
            "lines": self.lines.iter().map(|l| json!({
                "stack": l.stack, "construct": l.construct, "logicalId": l.logical_id,
                "kind": l.kind, "count": l.count, "detail": l.detail, "monthly": cents(l.monthly_usd)
            })).collect::<Vec<_>>(),
            "assumptions": self.assumptions.values,
            "notCounted": NOT_COUNTED,
        })
    }

    /// The text table: by kind, by construct, then every line, and the assumptions.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Monthly estimate of {} in {} (on-demand list prices of {}): ${:.2}/month\n",
            self.stacks.join(" + "),
            self.region,
            self.price_date,
            self.total()
        );
        let _ = writeln!(out, "By kind:");
        for k in self.by_kind() {
            let _ = writeln!(
                out,
                "  {:>10}  {:<28} {}",
                money(k.monthly_usd),
                k.kind,
                trim(k.count)
            );
        }
        let _ = writeln!(out, "\nBy construct:");
        for (stack, construct, usd) in self.by_construct() {
            let _ = writeln!(out, "  {:>10}  {stack}/{construct}", money(usd));
        }
        let _ = writeln!(out, "\nLines:");
        for l in &self.lines {
            let _ = writeln!(
                out,
                "  {:>10}  {:<24} {}/{} ({}): {}",
                money(l.monthly_usd),
                l.kind,
                l.stack,
                l.construct,
                l.logical_id,
                l.detail
            );
        }
        let _ = writeln!(out, "\nAssumptions (--assume KEY=VALUE):");
        for (key, _, meaning) in ASSUMPTIONS {
            let v = self.assumptions.get(key);
            let shown = if key == "fargateSpotDiscount" && v < 0.0 {
                "price table".to_string()
            } else {
                trim(v)
            };
            let _ = writeln!(out, "  {key} = {shown}: {meaning}");
        }
        let _ = writeln!(out, "Not counted: {NOT_COUNTED}.");
        out
    }
}

fn cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

fn money(usd: f64) -> String {
    format!("${usd:.2}")
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The region of `stack` in a cloud assembly's `manifest.json` (`aws://<account>/<region>`).
pub fn region_from_manifest(manifest: &Value, stack: &str) -> Option<String> {
    let env = manifest["artifacts"][stack]["environment"].as_str()?;
    let region = env.rsplit('/').next()?;
    (!region.is_empty() && region != "unknown-region").then(|| region.to_string())
}

/// The estimate of `templates` (stack name, template), all in `region`.
pub fn estimate(
    templates: &[(&str, &Value)],
    region: &str,
    prices: &PriceTable,
    assumptions: &Assumptions,
) -> Result<Estimate, CostError> {
    let mut missing = Vec::new();
    let mut lines = Vec::new();
    for (stack, template) in templates {
        lines.extend(stack_lines(
            stack,
            template,
            region,
            prices,
            assumptions,
            &mut missing,
        )?);
    }
    if !missing.is_empty() {
        return Err(CostError::MissingPrices(missing.join(", ")));
    }
    Ok(Estimate {
        stacks: templates.iter().map(|(s, _)| s.to_string()).collect(),
        region: region.to_string(),
        price_date: prices.date.clone(),
        lines,
        assumptions: assumptions.clone(),
    })
}

fn stack_lines(
    stack: &str,
    template: &Value,
    region: &str,
    prices: &PriceTable,
    a: &Assumptions,
    missing: &mut Vec<String>,
) -> Result<Vec<Line>, CostError> {
    let empty = serde_json::Map::new();
    let resources = template["Resources"].as_object().unwrap_or(&empty);
    let hours = a.get("hoursPerMonth");
    let mut lines = Vec::new();
    let mut price = |key: &str| prices.get(region, key, missing);
    for (id, r) in resources {
        let kind = r["Type"].as_str().unwrap_or_default();
        let p = &r["Properties"];
        let construct = r["Metadata"]["aws:cdk:path"]
            .as_str()
            .and_then(|path| path.split('/').nth(1))
            .unwrap_or(id)
            .to_string();
        let bad = |reason: &str| CostError::Template {
            stack: stack.to_string(),
            logical_id: id.clone(),
            kind: kind.to_string(),
            reason: reason.to_string(),
        };
        let mut line = |k: &str, count: f64, detail: String, usd: f64| {
            lines.push(Line {
                stack: stack.to_string(),
                construct: construct.clone(),
                logical_id: id.clone(),
                kind: k.to_string(),
                count,
                detail,
                monthly_usd: usd,
            })
        };
        match kind {
            "AWS::ECS::Service" => {
                let tasks = p["DesiredCount"].as_f64().unwrap_or(1.0);
                let task_id = p["TaskDefinition"]["Ref"]
                    .as_str()
                    .ok_or_else(|| bad("TaskDefinition is not a Ref to a task definition"))?;
                let td = &resources
                    .get(task_id)
                    .ok_or_else(|| bad("its task definition is not in the template"))?
                    ["Properties"];
                let number = |v: &Value| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                };
                let (Some(cpu), Some(memory)) = (number(&td["Cpu"]), number(&td["Memory"])) else {
                    return Err(bad("its task definition's Cpu and Memory are not literals"));
                };
                let arch = td["RuntimePlatform"]["CpuArchitecture"]
                    .as_str()
                    .unwrap_or("X86_64");
                let (vcpu, gb) = (cpu / 1024.0, memory / 1024.0);
                let per_task_hour = vcpu * price(&format!("fargate.vcpu-hour.{arch}"))
                    + gb * price(&format!("fargate.gb-hour.{arch}"));
                let spot = spot_share(p, tasks);
                let discount = match a.get("fargateSpotDiscount") {
                    d if d >= 0.0 => d,
                    _ => price("fargate.spot-discount"),
                };
                // Scheduled scaling (off hours) changes the tasks over the week.
                let schedule = resources
                    .values()
                    .find(|t| scales_service(t, id))
                    .map(|t| weekly_tasks(&t["Properties"]["ScheduledActions"], tasks));
                let (task_hours, scheduled) = match schedule {
                    Some(Ok(average)) => (
                        average * hours,
                        format!(
                            ", on a schedule: {} task(s) on average ({:.0}% of the time at {})",
                            trim(average),
                            100.0 * average / tasks.max(f64::MIN_POSITIVE),
                            trim(tasks)
                        ),
                    ),
                    Some(Err(why)) => (
                        tasks * hours,
                        format!(", its scheduled scaling not counted ({why})"),
                    ),
                    None => (tasks * hours, String::new()),
                };
                let usd = task_hours * per_task_hour * (1.0 - spot * discount);
                line(
                    "Fargate task",
                    tasks,
                    format!(
                        "{} task(s) x {} vCPU / {} GB {arch}, {:.0}% on Spot{scheduled}",
                        trim(tasks),
                        trim(vcpu),
                        trim(gb),
                        spot * 100.0
                    ),
                    usd,
                );
            }
            "AWS::EC2::Instance" => {
                let t = p["InstanceType"]
                    .as_str()
                    .ok_or_else(|| bad("InstanceType is not a literal"))?;
                line(
                    "EC2 instance",
                    1.0,
                    format!("{t}, {} h", trim(hours)),
                    hours * price(&format!("ec2.hour.{t}")),
                );
                for bdm in p["BlockDeviceMappings"].as_array().into_iter().flatten() {
                    let ebs = &bdm["Ebs"];
                    if let Some(gb) = ebs["VolumeSize"].as_f64() {
                        let vt = ebs["VolumeType"].as_str().unwrap_or("gp3");
                        line(
                            "EBS volume",
                            1.0,
                            format!("root {} GB {vt}", trim(gb)),
                            gb * price(&format!("ebs.gb-month.{vt}")),
                        );
                    }
                }
            }
            "AWS::EC2::Volume" => {
                let gb = p["Size"]
                    .as_f64()
                    .ok_or_else(|| bad("Size is not a literal"))?;
                let vt = p["VolumeType"].as_str().unwrap_or("gp3");
                line(
                    "EBS volume",
                    1.0,
                    format!("{} GB {vt}", trim(gb)),
                    gb * price(&format!("ebs.gb-month.{vt}")),
                );
            }
            "AWS::EC2::EIP" => line(
                "Public IPv4 address",
                1.0,
                format!("{} h", trim(hours)),
                hours * price("vpc.public-ipv4-hour"),
            ),
            "AWS::EC2::NatGateway" => {
                let gb = a.get("natGbPerGateway");
                line(
                    "NAT gateway",
                    1.0,
                    format!("{} h + {} GB processed", trim(hours), trim(gb)),
                    hours * price("vpc.nat-hour") + gb * price("vpc.nat-gb"),
                );
            }
            "AWS::EC2::VPCEndpoint" if p["VpcEndpointType"] == "Interface" => {
                let azs = p["SubnetIds"].as_array().map_or(1, Vec::len) as f64;
                let gb = a.get("endpointGbPerEndpoint");
                let service = p["ServiceName"].as_str().unwrap_or("?");
                line(
                    "Interface endpoint",
                    1.0,
                    format!(
                        "{service}: {} AZ x {} h + {} GB",
                        trim(azs),
                        trim(hours),
                        trim(gb)
                    ),
                    azs * hours * price("privatelink.endpoint-az-hour")
                        + gb * price("privatelink.endpoint-gb"),
                );
            }
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                let (k, prefix, lcu) = match p["Type"].as_str().unwrap_or("application") {
                    "network" => ("NLB", "elb.nlb", a.get("nlbLcu")),
                    _ => ("ALB", "elb.alb", a.get("albLcu")),
                };
                line(
                    k,
                    1.0,
                    format!("{} h + {} LCU every hour", trim(hours), trim(lcu)),
                    hours
                        * (price(&format!("{prefix}-hour"))
                            + lcu * price(&format!("{prefix}-lcu-hour"))),
                );
            }
            "AWS::EFS::FileSystem" => {
                let gb = a.get("efsGb");
                line(
                    "EFS file system",
                    1.0,
                    format!("{} GB Standard", trim(gb)),
                    gb * price("efs.gb-month.standard"),
                );
            }
            "AWS::ElastiCache::ReplicationGroup" => {
                let nodes = p["NumCacheClusters"].as_f64().unwrap_or(1.0);
                let t = p["CacheNodeType"]
                    .as_str()
                    .ok_or_else(|| bad("CacheNodeType is not a literal"))?;
                let engine = p["Engine"].as_str().unwrap_or("redis");
                line(
                    "ElastiCache node",
                    nodes,
                    format!("{} x {t} ({engine}), {} h", trim(nodes), trim(hours)),
                    nodes * hours * price(&format!("elasticache.hour.{engine}.{t}")),
                );
            }
            "AWS::CloudFront::Distribution" => {
                let gb = a.get("cloudfrontGbPerDistribution");
                let requests = a.get("cloudfrontMillionRequestsPerDistribution");
                line(
                    "CloudFront distribution",
                    1.0,
                    format!(
                        "{} GB out + {} million HTTPS requests",
                        trim(gb),
                        trim(requests)
                    ),
                    gb * price("cloudfront.gb-out")
                        + requests * 100.0 * price("cloudfront.https-10k"),
                );
            }
            "AWS::S3::Bucket" => {
                let gb = a.get("s3GbPerBucket");
                line(
                    "S3 bucket",
                    1.0,
                    format!("{} GB Standard", trim(gb)),
                    gb * price("s3.gb-month.standard"),
                );
            }
            "AWS::Logs::LogGroup" => {
                let gb = a.get("logGbPerGroup");
                line(
                    "CloudWatch log group",
                    1.0,
                    format!("{} GB ingested and stored", trim(gb)),
                    gb * (price("logs.ingest-gb") + price("logs.storage-gb-month")),
                );
            }
            "AWS::CloudWatch::Alarm" => line(
                "CloudWatch alarm",
                1.0,
                "standard resolution".into(),
                price("cloudwatch.alarm-month"),
            ),
            "AWS::CloudWatch::Dashboard" => line(
                "CloudWatch dashboard",
                1.0,
                "dashboard".into(),
                price("cloudwatch.dashboard-month"),
            ),
            "AWS::SecretsManager::Secret" => line(
                "Secrets Manager secret",
                1.0,
                "secret".into(),
                price("secretsmanager.secret-month"),
            ),
            "AWS::WAFv2::WebACL" => {
                let rules = p["Rules"].as_array().map_or(0, Vec::len) as f64;
                let requests = a.get("wafMillionRequests");
                line(
                    "WAF web ACL",
                    1.0,
                    format!(
                        "ACL + {} rule(s) + {} million requests",
                        trim(rules),
                        trim(requests)
                    ),
                    price("waf.acl-month")
                        + rules * price("waf.rule-month")
                        + requests * price("waf.million-requests"),
                );
            }
            "AWS::KMS::Key" => line(
                "KMS key",
                1.0,
                "customer managed key".into(),
                price("kms.key-month"),
            ),
            _ => {}
        }
    }
    Ok(lines)
}

/// Whether `target` is an Application Auto Scaling target of ECS service `service_id` (its
/// `ResourceId` names the service by `Fn::GetAtt` or `Ref`).
fn scales_service(target: &Value, service_id: &str) -> bool {
    fn names(v: &Value, id: &str) -> bool {
        match v {
            Value::Object(m) => {
                m.get("Ref").and_then(Value::as_str) == Some(id)
                    || m.get("Fn::GetAtt")
                        .and_then(|g| g.get(0))
                        .and_then(Value::as_str)
                        == Some(id)
                    || m.values().any(|x| names(x, id))
            }
            Value::Array(a) => a.iter().any(|x| names(x, id)),
            _ => false,
        }
    }
    target["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
        && target["Properties"]["ScalableDimension"] == "ecs:service:DesiredCount"
        && names(&target["Properties"]["ResourceId"], service_id)
}

/// Minutes in a week.
const WEEK: u32 = 7 * 24 * 60;

/// The minutes of the week (from Monday 00:00) at which `cron(M H ? * DAYS *)` fires: `M` and
/// `H` single numbers, `DAYS` `*`, `?`, a day (`MON`, `1`-`7` with 1 = Sunday), a range
/// (`MON-FRI`) or a list of those. Other forms are not modelled (`Err` says which).
pub fn cron_week_minutes(expr: &str) -> Result<Vec<u32>, String> {
    let unsupported =
        || format!("{expr}: only cron(M H ? * DAYS *) with fixed minute and hour is modelled");
    let inner = expr
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .ok_or_else(unsupported)?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    let [minute, hour, dom, month, dow, year] = f[..] else {
        return Err(unsupported());
    };
    if !matches!(dom, "?" | "*") || month != "*" || year != "*" {
        return Err(unsupported());
    }
    let (Ok(minute), Ok(hour)) = (minute.parse::<u32>(), hour.parse::<u32>()) else {
        return Err(unsupported());
    };
    if minute > 59 || hour > 23 {
        return Err(unsupported());
    }
    // Monday = 0 .. Sunday = 6.
    let day = |d: &str| -> Option<u32> {
        const NAMES: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
        if let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(d)) {
            return Some(i as u32);
        }
        // Numbers: 1 = Sunday .. 7 = Saturday.
        let n: u32 = d.parse().ok()?;
        (1..=7).contains(&n).then(|| (n + 5) % 7)
    };
    let mut days = Vec::new();
    if matches!(dow, "*" | "?") {
        days.extend(0..7);
    } else {
        for part in dow.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (
                        day(a).ok_or_else(unsupported)?,
                        day(b).ok_or_else(unsupported)?,
                    );
                    let mut d = a;
                    loop {
                        days.push(d);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days.push(day(part).ok_or_else(unsupported)?),
            }
        }
    }
    days.sort_unstable();
    days.dedup();
    Ok(days
        .into_iter()
        .map(|d| d * 24 * 60 + hour * 60 + minute)
        .collect())
}

/// The average number of tasks over a week of a service whose desired count is `desired` and
/// whose scalable target has the `ScheduledActions` `actions`: after each action the count is
/// `desired` clamped to the action's `MinCapacity`..`MaxCapacity` (a missing bound leaves that
/// side open). The week wraps: the state at Monday 00:00 is the last action's of the week
/// before. Time zones shift every action alike and do not change the average.
pub fn weekly_tasks(actions: &Value, desired: f64) -> Result<f64, String> {
    let mut events: Vec<(u32, f64)> = Vec::new();
    for a in actions.as_array().into_iter().flatten() {
        let expr = a["Schedule"].as_str().unwrap_or_default();
        let min = a["ScalableTargetAction"]["MinCapacity"].as_f64();
        let max = a["ScalableTargetAction"]["MaxCapacity"].as_f64();
        let mut n = desired;
        if let Some(max) = max {
            n = n.min(max);
        }
        if let Some(min) = min {
            n = n.max(min);
        }
        for m in cron_week_minutes(expr)? {
            events.push((m, n));
        }
    }
    if events.is_empty() {
        return Ok(desired);
    }
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut state = events.last().expect("not empty").1;
    let (mut at, mut task_minutes) = (0u32, 0.0);
    for (m, n) in events {
        task_minutes += state * f64::from(m - at);
        (at, state) = (m, n);
    }
    task_minutes += state * f64::from(WEEK - at);
    Ok(task_minutes / f64::from(WEEK))
}

/// The share of a service's `tasks` that run on `FARGATE_SPOT`: capacity-provider bases are
/// placed first, the rest is split by weight. A launch type (no strategy) is on-demand.
pub fn spot_share(service: &Value, tasks: f64) -> f64 {
    let Some(strategy) = service["CapacityProviderStrategy"].as_array() else {
        return 0.0;
    };
    if tasks <= 0.0 {
        return 0.0;
    }
    let mut left = tasks;
    let mut spot = 0.0;
    for s in strategy {
        let base = s["Base"].as_f64().unwrap_or(0.0).min(left);
        left -= base;
        if s["CapacityProvider"] == "FARGATE_SPOT" {
            spot += base;
        }
    }
    let total_weight: f64 = strategy
        .iter()
        .map(|s| s["Weight"].as_f64().unwrap_or(0.0))
        .sum();
    if total_weight > 0.0 {
        for s in strategy {
            if s["CapacityProvider"] == "FARGATE_SPOT" {
                spot += left * s["Weight"].as_f64().unwrap_or(0.0) / total_weight;
            }
        }
    }
    spot / tasks
}

/// A kind whose count or cost a change moves.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindDelta {
    pub kind: String,
    pub count_before: f64,
    pub count_after: f64,
    pub monthly_before: f64,
    pub monthly_after: f64,
}

impl KindDelta {
    /// The monthly difference.
    pub fn monthly_delta(&self) -> f64 {
        self.monthly_after - self.monthly_before
    }

    /// `+3 NAT gateways: +$150.12/month`.
    pub fn describe(&self) -> String {
        let dc = self.count_after - self.count_before;
        let what = if dc == 0.0 {
            format!("{} (changed)", self.kind)
        } else {
            let noun = if dc.abs() == 1.0 {
                self.kind.clone()
            } else if self.kind.ends_with('s') {
                format!("{}es", self.kind)
            } else {
                format!("{}s", self.kind)
            };
            format!(
                "{}{} {noun}",
                if dc > 0.0 { "+" } else { "-" },
                trim(dc.abs())
            )
        };
        let d = self.monthly_delta();
        format!(
            "{what}: {}${:.2}/month",
            if d < 0.0 { "-" } else { "+" },
            d.abs()
        )
    }
}

/// What changes from `before` to `after`, per kind (only kinds whose cost or count moves by at
/// least a cent), largest change first.
pub fn difference(before: &Estimate, after: &Estimate) -> Vec<KindDelta> {
    let mut kinds: BTreeMap<String, KindDelta> = BTreeMap::new();
    for (e, after_side) in [(before, false), (after, true)] {
        for k in e.by_kind() {
            let d = kinds.entry(k.kind.clone()).or_insert(KindDelta {
                kind: k.kind.clone(),
                count_before: 0.0,
                count_after: 0.0,
                monthly_before: 0.0,
                monthly_after: 0.0,
            });
            if after_side {
                d.count_after = k.count;
                d.monthly_after = k.monthly_usd;
            } else {
                d.count_before = k.count;
                d.monthly_before = k.monthly_usd;
            }
        }
    }
    let mut v: Vec<KindDelta> = kinds
        .into_values()
        .filter(|d| d.monthly_delta().abs() >= 0.005 || d.count_after != d.count_before)
        .collect();
    v.sort_by(|a, b| {
        b.monthly_delta()
            .abs()
            .total_cmp(&a.monthly_delta().abs())
            .then(a.kind.cmp(&b.kind))
    });
    v
}
