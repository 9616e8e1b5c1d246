//! What makes a change risky: stateful resources (data loss) and widened access (IAM, security
//! groups, load-balancer source-IP conditions).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::report::{Declared, Role, Statefulness};

/// Resource types whose replacement or deletion loses data, each with the reason shown to the
/// reviewer. Deliberately not listed: `AWS::EFS::AccessPoint` (configuration over the file
/// system: a new one sees the same files), `AWS::EC2::VolumeAttachment` (a link),
/// `AWS::KMS::Key` (deletion is scheduled with a waiting period, and replacement is flagged as
/// a key change by its own create-only properties), `AWS::ECS::*` (stateless tasks), RDS
/// parameter and subnet groups (configuration). Added beyond the list:
/// `AWS::SQS::Queue`, `AWS::DynamoDB::GlobalTable`, `AWS::ElastiCache::ServerlessCache`.
pub const STATEFUL: &[(&str, &str)] = &[
    (
        "AWS::EC2::Instance",
        "an EC2 host: a database host's root volume and memory hold state (Valkey, local configuration)",
    ),
    ("AWS::EC2::Volume", "an EBS volume holds the database files"),
    ("AWS::EFS::FileSystem", "an EFS file system holds files"),
    (
        "AWS::S3::Bucket",
        "a bucket holds objects (backups, WAL archive, static sites)",
    ),
    (
        "AWS::Logs::LogGroup",
        "a log group holds the logs written so far",
    ),
    (
        "AWS::ECR::Repository",
        "a repository holds the pushed images",
    ),
    (
        "AWS::ElastiCache::ReplicationGroup",
        "a cache cluster holds its data (queued jobs in Valkey/Redis)",
    ),
    (
        "AWS::ElastiCache::CacheCluster",
        "a cache cluster holds its data (queued jobs in Valkey/Redis)",
    ),
    (
        "AWS::ElastiCache::ServerlessCache",
        "a serverless cache holds its data",
    ),
    (
        "AWS::RDS::DBInstance",
        "a database instance holds the database",
    ),
    (
        "AWS::RDS::DBCluster",
        "a database cluster holds the database",
    ),
    ("AWS::DynamoDB::Table", "a table holds its items"),
    ("AWS::DynamoDB::GlobalTable", "a table holds its items"),
    (
        "AWS::SecretsManager::Secret",
        "a secret holds credentials (a generated password is lost, and whatever uses it breaks)",
    ),
    (
        "AWS::Backup::BackupVault",
        "a backup vault holds the recovery points",
    ),
    ("AWS::SQS::Queue", "a queue holds undelivered messages"),
];

/// The template metadata key under which a construct declares what its resource holds:
/// `{"role": "data" | "compute", "reason": "..."}` (`tracker-constructs` writes it).
pub const STATEFULNESS_METADATA: &str = "tracker:statefulness";

/// What the construct of resource `r` (a template resource) declares it holds, if it does.
pub fn declared_statefulness(r: &Value) -> Option<Statefulness> {
    let d = &r["Metadata"][STATEFULNESS_METADATA];
    let role = match d["role"].as_str()? {
        "data" => Role::Data,
        "compute" => Role::Compute,
        _ => return None,
    };
    Some(Statefulness {
        role,
        reason: d["reason"]
            .as_str()
            .unwrap_or("declared by its construct")
            .to_string(),
        source: Declared::Construct,
    })
}

/// Why `type_` is stateful, if it is.
pub fn stateful(type_: &str) -> Option<&'static str> {
    STATEFUL
        .iter()
        .find(|(t, _)| *t == type_)
        .map(|(_, why)| *why)
}

/// The retention note for a deleted or replaced stateful resource, from its policy attribute
/// (`DeletionPolicy` for a delete, `UpdateReplacePolicy` for a replacement).
pub fn retention_note(policy: Option<&str>, replaced: bool) -> String {
    let attr = if replaced {
        "UpdateReplacePolicy"
    } else {
        "DeletionPolicy"
    };
    let fresh = if replaced {
        "; the new one starts empty"
    } else {
        ""
    };
    match policy {
        Some("Retain") | Some("RetainExceptOnCreate") => {
            format!("the old one is retained ({attr}: Retain), orphaned outside the stack{fresh}")
        }
        Some("Snapshot") => format!("the old one is snapshotted ({attr}: Snapshot){fresh}"),
        Some(p) => format!("the old one is deleted ({attr}: {p}){fresh}"),
        None => format!("the old one is deleted (no {attr}: Delete){fresh}"),
    }
}

// ---------------------------------------------------------------------------------------------
// IAM

/// The policy documents in `props` of a `type_` resource, each with its path: every property the
/// provider schemas say holds a policy document ([`crate::spec::policy_properties`], generated),
/// at any depth (`Policies/0/PolicyDocument`). JSON strings are parsed.
fn policy_documents(type_: &str, props: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in crate::spec::policy_properties(type_) {
        let mut vals = Vec::new();
        crate::diff::values_at(props, &path, &mut vals, String::new());
        for (at, v) in vals {
            out.push((at, parse_json_string(v)));
        }
    }
    out
}

fn parse_json_string(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        _ => v.clone(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        other => vec![other.to_string()],
    }
}

fn principals(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![String::new()],
        Value::String(s) => vec![s.clone()],
        Value::Object(m)
            if m.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                )
            }) =>
        {
            m.iter()
                .flat_map(|(k, v)| strings(v).into_iter().map(move |p| format!("{k}:{p}")))
                .collect()
        }
        other => vec![other.to_string()],
    }
}

/// One granted (or denied) tuple of a statement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    effect: String,
    principal: String,
    action: String,
    resource: String,
    condition: String,
}

fn grants(doc: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    let statements: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    };
    for s in statements {
        let effect = s["Effect"].as_str().unwrap_or("Allow").to_string();
        let mut prin = principals(&s["Principal"]);
        if !s["NotPrincipal"].is_null() {
            prin = principals(&s["NotPrincipal"])
                .into_iter()
                .map(|p| format!("not {p}"))
                .collect();
        }
        let actions: Vec<String> = if s["NotAction"].is_null() {
            strings(&s["Action"])
        } else {
            strings(&s["NotAction"])
                .into_iter()
                .map(|a| format!("everything but {a}"))
                .collect()
        };
        let mut resources: Vec<String> = if s["NotResource"].is_null() {
            strings(&s["Resource"])
        } else {
            strings(&s["NotResource"])
                .into_iter()
                .map(|r| format!("everything but {r}"))
                .collect()
        };
        if resources.is_empty() {
            resources.push(String::new());
        }
        let condition = if s["Condition"].is_null() {
            String::new()
        } else {
            s["Condition"].to_string()
        };
        for p in &prin {
            for a in &actions {
                for r in &resources {
                    out.insert(Grant {
                        effect: effect.clone(),
                        principal: p.clone(),
                        action: a.clone(),
                        resource: r.clone(),
                        condition: condition.clone(),
                    });
                }
            }
        }
    }
    out
}

fn describe_grant(g: &Grant) -> String {
    let mut s = format!("`{}`", g.action);
    if !g.resource.is_empty() {
        s.push_str(&format!(" on {}", short(&g.resource)));
    }
    if g.principal == "*" || g.principal == "AWS:*" {
        s.push_str(" to anyone (Principal *)");
    } else if !g.principal.is_empty() {
        s.push_str(&format!(" to {}", short(&g.principal)));
    }
    if !g.condition.is_empty() {
        s.push_str(&format!(" when {}", short(&g.condition)));
    }
    s
}

fn short(s: &str) -> String {
    if s.chars().count() > 120 {
        let t: String = s.chars().take(117).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}

/// Widened IAM access between `old` and `new` properties of a `type_` resource (`old` is
/// `Null` for an added resource): new Allow tuples (statement, action, resource, principal or
/// dropped condition), removed Deny tuples, added managed policies.
pub fn iam_widening(type_: &str, old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let old_docs = policy_documents(type_, old);
    let new_docs = policy_documents(type_, new);
    let collect = |docs: &[(String, Value)]| -> BTreeSet<Grant> {
        docs.iter().flat_map(|(_, d)| grants(d)).collect()
    };
    let (before, after) = (collect(&old_docs), collect(&new_docs));
    let trust = type_ == "AWS::IAM::Role";
    // New Allow tuples, actions grouped per (principal, resource, condition).
    let mut grouped: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for g in after.difference(&before) {
        if g.effect != "Allow" {
            continue;
        }
        if trust && g.action.starts_with("sts:") {
            out.push(format!("lets {} assume the role", short(&g.principal)));
            continue;
        }
        grouped
            .entry((g.principal.clone(), g.resource.clone(), g.condition.clone()))
            .or_default()
            .push(g.action.clone());
    }
    for ((principal, resource, condition), actions) in grouped {
        let g = Grant {
            effect: "Allow".into(),
            principal,
            action: actions.join("`, `"),
            resource,
            condition,
        };
        out.push(format!("allows {}", describe_grant(&g)));
    }
    for g in before.difference(&after) {
        if g.effect == "Deny" {
            out.push(format!("no longer denies {}", describe_grant(g)));
        }
    }
    if matches!(
        type_,
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group"
    ) {
        let before: BTreeSet<String> = strings(&old["ManagedPolicyArns"]).into_iter().collect();
        for arn in strings(&new["ManagedPolicyArns"]) {
            if !before.contains(&arn) {
                out.push(format!("attaches managed policy {}", short(&arn)));
            }
        }
    }
    if type_ == "AWS::IAM::ManagedPolicy" || type_ == "AWS::IAM::Policy" {
        for key in ["Roles", "Users", "Groups"] {
            let before: BTreeSet<String> = strings(&old[key]).into_iter().collect();
            if old.is_null() {
                continue; // a new policy's grants are already listed
            }
            for r in strings(&new[key]) {
                if !before.contains(&r) {
                    out.push(format!(
                        "now also applies to {} {}",
                        key.to_lowercase(),
                        short(&r)
                    ));
                }
            }
        }
    }
    if type_ == "AWS::Lambda::Permission" && old.is_null() {
        out.push(format!(
            "lets {} invoke a function",
            short(&strings(&new["Principal"]).join(", "))
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Security groups

#[derive(Clone, Debug)]
struct Rule {
    egress: bool,
    protocol: String,
    from: i64,
    to: i64,
    /// `cidr:0.0.0.0/0`, `cidr6:::/0`, `sg:{"Fn::GetAtt":...}`, `pl:...`
    peer: String,
}

fn port(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn rule(egress: bool, r: &Value) -> Rule {
    let protocol = match &r["IpProtocol"] {
        Value::String(s) => s.to_lowercase(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    let all = protocol == "-1" || protocol == "all";
    let (from, to) = if all {
        (0, 65535)
    } else {
        let f = port(&r["FromPort"]).unwrap_or(-1);
        let t = port(&r["ToPort"]).unwrap_or(f);
        if f == -1 {
            (0, 65535)
        } else {
            (f, t)
        }
    };
    let peer = [
        ("CidrIp", "cidr"),
        ("CidrIpv6", "cidr6"),
        ("SourceSecurityGroupId", "sg"),
        ("DestinationSecurityGroupId", "sg"),
        ("SourceSecurityGroupName", "sg"),
        ("SourcePrefixListId", "pl"),
        ("DestinationPrefixListId", "pl"),
    ]
    .iter()
    .find_map(|(k, tag)| {
        let v = &r[*k];
        (!v.is_null()).then(|| match v {
            Value::String(s) => format!("{tag}:{s}"),
            other => format!("{tag}:{other}"),
        })
    })
    .unwrap_or_default();
    Rule {
        egress,
        protocol: if all { "-1".into() } else { protocol },
        from,
        to,
        peer,
    }
}

fn parse_v4(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let len: u32 = len.parse().ok()?;
    let mut n: u32 = 0;
    let parts: Vec<&str> = ip.split('.').collect();
    if parts.len() != 4 || len > 32 {
        return None;
    }
    for p in parts {
        n = (n << 8) | p.parse::<u8>().ok()? as u32;
    }
    Some((n, len))
}

/// Whether peer `outer` includes every address of `inner`.
fn peer_covers(outer: &str, inner: &str) -> bool {
    if outer == inner {
        return true;
    }
    match (outer.strip_prefix("cidr:"), inner.strip_prefix("cidr:")) {
        (Some(o), Some(i)) => match (parse_v4(o), parse_v4(i)) {
            (Some((on, ol)), Some((inn, il))) => {
                let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
                ol <= il && (on & mask) == (inn & mask)
            }
            _ => false,
        },
        _ => outer == "cidr6:::/0" && inner.starts_with("cidr6:"),
    }
}

fn covers(old: &Rule, new: &Rule) -> bool {
    old.egress == new.egress
        && (old.protocol == "-1" || old.protocol == new.protocol)
        && old.from <= new.from
        && old.to >= new.to
        && peer_covers(&old.peer, &new.peer)
}

fn describe_rule(r: &Rule) -> String {
    let dir = if r.egress { "egress" } else { "ingress" };
    let ports = if r.protocol == "-1" {
        "all traffic".to_string()
    } else if r.from == r.to {
        format!("{} {}", r.protocol, r.from)
    } else {
        format!("{} {}-{}", r.protocol, r.from, r.to)
    };
    let prep = if r.egress { "to" } else { "from" };
    let peer = match r.peer.split_once(':') {
        Some(("cidr", "0.0.0.0/0")) => "0.0.0.0/0 (anywhere on the internet)".to_string(),
        Some(("cidr6", "::/0")) => "::/0 (anywhere on the internet)".to_string(),
        Some(("sg", s)) => format!("security group {}", short(s)),
        Some(("pl", s)) => format!("prefix list {}", short(s)),
        Some((_, s)) => s.to_string(),
        None => "?".to_string(),
    };
    format!("{dir} {ports} {prep} {peer}")
}

fn rules(type_: &str, props: &Value) -> Vec<Rule> {
    match type_ {
        "AWS::EC2::SecurityGroup" => {
            let mut out: Vec<Rule> = props["SecurityGroupIngress"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| rule(false, r))
                .collect();
            out.extend(
                props["SecurityGroupEgress"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| rule(true, r)),
            );
            out
        }
        "AWS::EC2::SecurityGroupIngress" if !props.is_null() => vec![rule(false, props)],
        "AWS::EC2::SecurityGroupEgress" if !props.is_null() => vec![rule(true, props)],
        _ => Vec::new(),
    }
}

/// Widened network access between `old` and `new` properties (`old` is `Null` for an added
/// resource): a security-group rule that no old rule covers (new rule, wider CIDR or port
/// range), or a load-balancer listener rule whose `source-ip` condition was dropped or widened.
pub fn network_widening(type_: &str, old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let before = rules(type_, old);
    for r in rules(type_, new) {
        if !before.iter().any(|o| covers(o, &r)) {
            // CDK's "allow all outbound" placeholder egress rule (255.255.255.255/32, icmp 252-86)
            // allows nothing.
            if r.peer == "cidr:255.255.255.255/32" {
                continue;
            }
            out.push(format!("{} is new", describe_rule(&r)));
        }
    }
    if type_ == "AWS::ElasticLoadBalancingV2::ListenerRule" && !old.is_null() {
        let sources = |v: &Value| -> Option<Vec<String>> {
            let c = v["Conditions"]
                .as_array()?
                .iter()
                .find(|c| c["Field"] == "source-ip")?;
            let mut vals = strings(&c["SourceIpConfig"]["Values"]);
            vals.extend(strings(&c["Values"]));
            Some(vals)
        };
        match (sources(old), sources(new)) {
            (Some(o), None) => out.push(format!(
                "the source-IP condition ({}) was removed: every client now reaches this rule",
                o.join(", ")
            )),
            (Some(o), Some(n)) => {
                for c in n {
                    let cov = o
                        .iter()
                        .any(|x| peer_covers(&format!("cidr:{x}"), &format!("cidr:{c}")));
                    if !cov {
                        out.push(format!("source IP {c} is newly allowed"));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cidr_coverage() {
        assert!(peer_covers("cidr:10.0.0.0/8", "cidr:10.1.0.0/16"));
        assert!(!peer_covers("cidr:10.1.0.0/16", "cidr:10.0.0.0/8"));
        assert!(!peer_covers("cidr:203.0.113.0/24", "cidr:0.0.0.0/0"));
        assert!(peer_covers("cidr:0.0.0.0/0", "cidr:203.0.113.7/32"));
    }

    #[test]
    fn widened_port_range_and_cidr_are_flagged() {
        let old = json!({"SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}]});
        let wider_ports = json!({"SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 400, "ToPort": 500, "CidrIp": "10.0.0.0/16"}]});
        let open = json!({"SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]});
        let narrower = json!({"SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.1.0/24"}]});
        let t = "AWS::EC2::SecurityGroup";
        assert_eq!(network_widening(t, &old, &wider_ports).len(), 1);
        let w = network_widening(t, &old, &open);
        assert!(w[0].contains("anywhere on the internet"), "{w:?}");
        assert!(network_widening(t, &old, &narrower).is_empty());
        assert!(network_widening(t, &open, &old).is_empty());
    }

    #[test]
    fn new_actions_principals_and_dropped_denies_widen() {
        let t = "AWS::IAM::Policy";
        let doc =
            |stmts: Value| json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": stmts}});
        let old = doc(
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:b/*"},
                             {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]),
        );
        let new = doc(
            json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:b/*"}]),
        );
        let w = iam_widening(t, &old, &new);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("s3:PutObject"));
        assert!(w[1].starts_with("no longer denies"));
        assert!(iam_widening(t, &new, &new).is_empty());
        // Removing an action and adding a Deny narrows.
        assert!(iam_widening(t, &new, &old).is_empty());
    }
}
