//! Offline review: compares two CloudFormation templates resource by resource.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::known::{Known, Pseudo};
use crate::report::{Action, Change, PropertyChange, Replacement};
use crate::risk;
use crate::spec::Table;

/// Resource attributes (besides `Type` and `Properties`) whose change updates the stack entry
/// without touching the physical resource.
const ATTRIBUTES: &[&str] = &[
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "DependsOn",
    "Condition",
    "UpdatePolicy",
    "CreationPolicy",
];

/// Whether `v` contains an intrinsic function whose value is only known at deploy time.
pub(crate) fn has_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            (m.len() == 1
                && m.keys()
                    .next()
                    .is_some_and(|k| k == "Ref" || k.starts_with("Fn::")))
                || m.values().any(has_intrinsic)
        }
        Value::Array(a) => a.iter().any(has_intrinsic),
        _ => false,
    }
}

/// Logical ids referenced by `v` (`Ref`, `Fn::GetAtt`, `${Id}` / `${Id.Attr}` in `Fn::Sub`).
fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("Ref") {
                out.insert(id.clone());
            }
            match m.get("Fn::GetAtt") {
                Some(Value::Array(a)) => {
                    if let Some(Value::String(id)) = a.first() {
                        out.insert(id.clone());
                    }
                }
                Some(Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap_or_default().to_string());
                }
                _ => {}
            }
            let sub = match m.get("Fn::Sub") {
                Some(Value::String(s)) => Some(s.as_str()),
                Some(Value::Array(a)) => a.first().and_then(Value::as_str),
                _ => None,
            };
            if let Some(s) = sub {
                for part in s.split("${").skip(1) {
                    if let Some(name) = part.split('}').next() {
                        out.insert(name.split('.').next().unwrap_or_default().to_string());
                    }
                }
            }
            m.values().for_each(|x| references(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// The values found at `path` in `v` (`*` expands over array elements and object keys), in
/// order; absent values are left out.
pub(crate) fn values_at<'a>(
    v: &'a Value,
    path: &[String],
    out: &mut Vec<(String, &'a Value)>,
    at: String,
) {
    let Some((first, rest)) = path.split_first() else {
        out.push((at, v));
        return;
    };
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}/{k}")
        }
    };
    match (first.as_str(), v) {
        ("*", Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                values_at(x, rest, out, join(&i.to_string()));
            }
        }
        ("*", Value::Object(m)) => {
            for (k, x) in m {
                values_at(x, rest, out, join(k));
            }
        }
        (key, Value::Object(m)) => {
            if let Some(x) = m.get(key) {
                values_at(x, rest, out, join(key));
            }
        }
        // An array where the schema expects an object: compare element-wise.
        (_, Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                values_at(x, path, out, join(&i.to_string()));
            }
        }
        _ => {}
    }
}

/// Leaf paths where `a` and `b` differ; arrays are compared whole (reported at the array).
fn changed_paths(a: &Value, b: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y))
            if depth < 3 && !is_intrinsic(a) && !is_intrinsic(b) =>
        {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}/{k}")
                };
                changed_paths(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &p,
                    depth + 1,
                    out,
                );
            }
        }
        _ => out.push(at.to_string()),
    }
}

fn is_intrinsic(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.len() == 1
            && m.keys()
                .next()
                .is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
    })
}

/// Whether the values found at one create-only path certainly resolve differently: a value
/// added or removed, or one pair that [`certainly_differs`].
fn certainly_differs_at(a: &[(String, &Value)], b: &[(String, &Value)]) -> bool {
    let am: BTreeMap<&String, &Value> = a.iter().map(|(k, v)| (k, *v)).collect();
    let bm: BTreeMap<&String, &Value> = b.iter().map(|(k, v)| (k, *v)).collect();
    am.len() != bm.len()
        || am
            .iter()
            .any(|(k, x)| bm.get(k).is_none_or(|y| certainly_differs(x, y)))
}

/// Whether `a` and `b` resolve to different values whatever the deploy-time values are. Equal
/// intrinsics resolve alike; a difference inside a `Ref`, `Fn::GetAtt`, `Fn::Sub` or other
/// function may resolve alike, except one literal part of the same `Fn::Join` (same delimiter,
/// same parts elsewhere): the joined strings then differ.
pub(crate) fn certainly_differs(a: &Value, b: &Value) -> bool {
    if a == b {
        return false;
    }
    match (is_intrinsic(a), is_intrinsic(b)) {
        (false, false) => match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() != y.len()
                    || x.iter()
                        .any(|(k, v)| y.get(k).is_none_or(|w| certainly_differs(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() != y.len() || x.iter().zip(y).any(|(v, w)| certainly_differs(v, w))
            }
            // Literals (or an object against a literal).
            _ => !has_intrinsic(a) && !has_intrinsic(b),
        },
        (true, true) => {
            let parts = |v: &Value| match &v["Fn::Join"] {
                Value::Array(j) if j.len() == 2 => Some((j[0].clone(), j[1].as_array().cloned()?)),
                _ => None,
            };
            let (Some((da, pa)), Some((db, pb))) = (parts(a), parts(b)) else {
                return false;
            };
            if da != db || pa.len() != pb.len() {
                return false;
            }
            let differing: Vec<(&Value, &Value)> =
                pa.iter().zip(&pb).filter(|(x, y)| x != y).collect();
            matches!(differing.as_slice(), [(Value::String(_), Value::String(_))])
        }
        _ => false,
    }
}

/// Create-only paths of `type_` whose value differs between `old` and `new` properties, each
/// with whether the replacement is certain or depends on deploy-time values.
fn replacing(type_: &str, old: &Value, new: &Value) -> Vec<(String, Replacement)> {
    let Some(paths) = Table::get().create_only(type_) else {
        return Vec::new();
    };
    let mut out = BTreeMap::new();
    for path in paths {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        values_at(old, path, &mut a, String::new());
        values_at(new, path, &mut b, String::new());
        if a == b {
            continue;
        }
        // Certain when some value at the path differs in a part known before deploy time (a
        // new image tag inside the `Fn::Join` of an image URI); conditional when only
        // deploy-time values differ.
        let conditional = !certainly_differs_at(&a, &b);
        // Name the concrete paths that differ.
        let mut names: BTreeSet<String> = BTreeSet::new();
        let bm: BTreeMap<&String, &Value> = b.iter().map(|(k, v)| (k, *v)).collect();
        let am: BTreeMap<&String, &Value> = a.iter().map(|(k, v)| (k, *v)).collect();
        for (k, v) in &am {
            if bm.get(k) != Some(v) {
                names.insert((*k).clone());
            }
        }
        for k in bm.keys() {
            if !am.contains_key(k) {
                names.insert((*k).clone());
            }
        }
        if names.is_empty() {
            names.insert(path.join("/"));
        }
        let r = if conditional {
            Replacement::Conditional
        } else {
            Replacement::Always
        };
        for n in names {
            let e = out.entry(n).or_insert(r);
            if r == Replacement::Always {
                *e = r;
            }
        }
    }
    out.into_iter().collect()
}

/// Resource types left out of the review: `AWS::CDK::Metadata` is CDK's version-reporting
/// resource (no infrastructure; the golden templates drop it).
pub(crate) const IGNORED_TYPES: &[&str] = &["AWS::CDK::Metadata"];

fn resources(t: &Value) -> Map<String, Value> {
    t["Resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, r)| !IGNORED_TYPES.contains(&r["Type"].as_str().unwrap_or_default()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The construct path of a resource (`aws:cdk:path` metadata).
pub(crate) fn cdk_path(r: &Value) -> Option<String> {
    r["Metadata"]["aws:cdk:path"].as_str().map(str::to_string)
}

/// Judges widening (IAM and resource policies, security groups, listener source IPs) and
/// weakened guardrails between the old and new resource (`{"Type", "Properties", ...}`; `Null`
/// when added or deleted), and records the construct's declaration of what it holds.
/// Values known before deploy (parameter defaults, pseudo parameters, conditions) are resolved
/// first, on each side with its own template (`sides`); a guarded setting whose value stays
/// unknown and differs gets a warning note instead of a verdict.
pub(crate) fn judge(c: &mut Change, old: &Value, new: &Value, sides: (Known, Known)) {
    let type_ = c.resource_type.clone();
    let (old, new) = (&sides.0.resolve(old), &sides.1.resolve(new));
    let (op, np) = (&old["Properties"], &new["Properties"]);
    c.widening = risk::iam_widening(&type_, op, np);
    c.widening.extend(risk::network_widening(&type_, op, np));
    if c.statefulness.is_none() {
        c.statefulness =
            risk::declared_statefulness(new).or_else(|| risk::declared_statefulness(old));
    }
    let holds_data = match &c.statefulness {
        Some(s) => s.role == crate::report::Role::Data,
        None => risk::stateful(&type_).is_some(),
    };
    let (weakened, unknown) = crate::guardrails::weakened(&type_, old, new, holds_data);
    c.guardrails = weakened;
    for u in unknown {
        c.notes.push(format!(
            "warning: {u}: only known at deploy time (a parameter without a default, a resource attribute, an import), so the review cannot tell whether it is weakened: check the value deployed"
        ));
    }
}

/// Compares the `Resources` of two templates. Both must be objects with a `Resources` object
/// (checked by the caller).
#[cfg(test)]
pub fn compare(old: &Value, new: &Value) -> Vec<Change> {
    compare_in(old, new, &Pseudo::default())
}

/// [`compare`] for a stack whose pseudo parameters (name, account, region) are `pseudo`: they
/// decide conditions and the guarded settings that use them.
pub fn compare_in(old: &Value, new: &Value, pseudo: &Pseudo) -> Vec<Change> {
    let sides = (Known::new(old, pseudo), Known::new(new, pseudo));
    let (old_r, new_r) = (&resources(old), &resources(new));
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();

    for (id, o) in old_r {
        let type_ = o["Type"].as_str().unwrap_or_default().to_string();
        let Some(n) = new_r.get(id) else {
            let mut c = Change::new(id, &type_, cdk_path(o), Action::Delete);
            c.old_policy = o["DeletionPolicy"].as_str().map(str::to_string);
            c.statefulness = risk::declared_statefulness(o);
            if type_ == "AWS::KMS::Key" {
                kms_key_deleted(&mut c, id, o, old_r);
            }
            changes.insert(id.clone(), c);
            continue;
        };
        let new_type = n["Type"].as_str().unwrap_or_default();
        let path = cdk_path(n).or_else(|| cdk_path(o));
        if new_type != type_ {
            let mut c = Change::new(id, new_type, path, Action::Replace);
            c.replacement = Replacement::Always;
            c.properties.push(PropertyChange {
                path: format!("Type ({type_} -> {new_type})"),
                replacement: Replacement::Always,
            });
            c.old_policy = n["UpdateReplacePolicy"].as_str().map(str::to_string);
            c.statefulness = risk::declared_statefulness(n);
            changes.insert(id.clone(), c);
            continue;
        }
        let (op, np) = (&o["Properties"], &n["Properties"]);
        let mut props = Vec::new();
        changed_paths(op, np, "", 0, &mut props);
        let mut attrs: Vec<String> = ATTRIBUTES
            .iter()
            .filter(|a| o.get(**a) != n.get(**a))
            .map(|a| a.to_string())
            .collect();
        if props.is_empty() && attrs.is_empty() {
            continue;
        }
        let repl = replacing(&type_, op, np);
        let mut c = Change::new(id, &type_, path, Action::Modify);
        for p in props {
            let r = repl
                .iter()
                .filter(|(rp, _)| {
                    rp == &p || rp.starts_with(&format!("{p}/")) || p.starts_with(&format!("{rp}/"))
                })
                .map(|(_, r)| *r)
                .max()
                .unwrap_or(Replacement::Never);
            c.properties.push(PropertyChange {
                path: p,
                replacement: r,
            });
        }
        // Create-only paths that differ where the generic diff stopped higher up.
        for (rp, r) in &repl {
            if !c.properties.iter().any(|p| &p.path == rp) {
                c.properties.push(PropertyChange {
                    path: rp.clone(),
                    replacement: *r,
                });
            }
        }
        c.properties.retain(|p| {
            p.replacement != Replacement::Never
                || !repl
                    .iter()
                    .any(|(rp, _)| rp.starts_with(&format!("{}/", p.path)))
        });
        attrs.sort();
        c.attributes = attrs;
        c.replacement = c
            .properties
            .iter()
            .map(|p| p.replacement)
            .max()
            .unwrap_or(Replacement::Never);
        if c.replacement != Replacement::Never {
            c.action = Action::Replace;
            c.old_policy = n["UpdateReplacePolicy"]
                .as_str()
                .or(o["UpdateReplacePolicy"].as_str())
                .map(str::to_string);
        }
        judge(&mut c, o, n, sides);
        explain_modify(&mut c, o, n, sides.1);
        changes.insert(id.clone(), c);
    }
    for (id, n) in new_r {
        if old_r.contains_key(id) {
            continue;
        }
        let type_ = n["Type"].as_str().unwrap_or_default();
        let mut c = Change::new(id, type_, cdk_path(n), Action::Add);
        judge(&mut c, &Value::Null, n, sides);
        explain_add(&mut c, n, sides.1);
        changes.insert(id.clone(), c);
    }

    // A resource whose create-only property references a replaced resource gets a new value at
    // deploy time: CloudFormation replaces it too (conditionally); a mutable reference updates it.
    loop {
        let replaced: BTreeSet<String> = changes
            .values()
            .filter(|c| c.action == Action::Replace)
            .map(|c| c.logical_id.clone())
            .collect();
        let mut grew = false;
        for (id, n) in new_r {
            if !old_r.contains_key(id)
                || changes.get(id).is_some_and(|c| c.action == Action::Replace)
            {
                continue;
            }
            let type_ = n["Type"].as_str().unwrap_or_default();
            let np = &n["Properties"];
            let mut hits = Vec::new();
            for path in Table::get().create_only(type_).unwrap_or_default() {
                let mut vals = Vec::new();
                values_at(np, path, &mut vals, String::new());
                for (p, v) in vals {
                    let mut refs = BTreeSet::new();
                    references(v, &mut refs);
                    if let Some(r) = refs.iter().find(|r| replaced.contains(*r)) {
                        hits.push((p, r.clone()));
                    }
                }
            }
            if hits.is_empty() {
                continue;
            }
            let c = changes
                .entry(id.clone())
                .or_insert_with(|| Change::new(id, type_, cdk_path(n), Action::Modify));
            c.action = Action::Replace;
            c.replacement = c.replacement.max(Replacement::Conditional);
            c.old_policy = n["UpdateReplacePolicy"].as_str().map(str::to_string);
            if c.statefulness.is_none() {
                c.statefulness = risk::declared_statefulness(n);
            }
            for (p, r) in hits {
                c.properties.push(PropertyChange {
                    path: format!("{p} (references {r}, which is replaced)"),
                    replacement: Replacement::Conditional,
                });
            }
            grew = true;
        }
        if !grew {
            break;
        }
    }

    let mut out: Vec<Change> = changes.into_values().collect();
    for c in &mut out {
        if let (Some(o), Some(n)) = (old_r.get(&c.logical_id), new_r.get(&c.logical_id)) {
            if c.action == Action::Replace {
                explain_replace(c, o, n);
            }
        }
    }
    pair_renames(&mut out, old_r, new_r);
    out
}

/// Updates that interrupt the resource without replacing it, as the CloudFormation user guide
/// states them ("Update requires: Some interruptions"), with what happens.
pub const INTERRUPTIONS: &[(&str, &str, &str)] = &[
    ("AWS::EC2::Instance", "UserData", "user data changes: CloudFormation stops and starts the instance to apply it (EBS-backed), and the new script runs at boot only if it is written to run on every boot"),
    ("AWS::EC2::Instance", "InstanceType", "the instance type changes: CloudFormation stops and starts the instance"),
    ("AWS::EC2::Instance", "EbsOptimized", "EBS optimization changes: CloudFormation stops and starts the instance"),
    ("AWS::EC2::Instance", "KernelId", "the kernel changes: CloudFormation stops and starts the instance"),
    ("AWS::EC2::Instance", "RamdiskId", "the RAM disk changes: CloudFormation stops and starts the instance"),
    ("AWS::RDS::DBInstance", "DBInstanceClass", "the instance class changes: the database restarts (some interruption)"),
    ("AWS::RDS::DBInstance", "EngineVersion", "the engine version changes: the database restarts (some interruption)"),
    ("AWS::ElastiCache::ReplicationGroup", "CacheNodeType", "the node type changes: nodes are replaced one by one (some interruption)"),
    ("AWS::ElastiCache::ReplicationGroup", "EngineVersion", "the engine version changes: nodes restart (some interruption)"),
    ("AWS::EC2::Instance", "Tenancy", "the tenancy changes: CloudFormation stops and starts the instance"),
    ("AWS::EC2::Instance", "Affinity", "the host affinity changes: CloudFormation stops and starts the instance"),
    ("AWS::EC2::Instance", "HostId", "the dedicated host changes: CloudFormation stops and starts the instance on the new host"),
    ("AWS::RDS::DBInstance", "DBParameterGroupName", "the parameter group changes: the instance may reboot to apply it (the database is down during the reboot)"),
    ("AWS::RDS::DBInstance", "StorageType", "the storage type changes: storage is converted (some interruption; performance degrades while it runs)"),
    ("AWS::RDS::DBCluster", "EngineVersion", "the engine version changes: the cluster's instances restart (some interruption)"),
    ("AWS::RDS::DBCluster", "DBClusterParameterGroupName", "the cluster parameter group changes: the instances may reboot to apply it (the database is down during the reboot)"),
    ("AWS::ElastiCache::CacheCluster", "CacheNodeType", "the node type changes: the cluster is scaled onto new nodes (some interruption)"),
    ("AWS::ElastiCache::CacheCluster", "EngineVersion", "the engine version changes: nodes restart (some interruption)"),
    ("AWS::AutoScaling::AutoScalingGroup", "LaunchTemplate", "the launch template changes: running instances keep the old one unless the group's UpdatePolicy replaces them (a rolling update terminates and starts instances)"),
    ("AWS::AutoScaling::AutoScalingGroup", "LaunchConfigurationName", "the launch configuration changes: running instances keep the old one unless the group's UpdatePolicy replaces them"),
    ("AWS::ECS::Service", "TaskDefinition", "a new task definition: tasks are replaced by a deployment (the service's deployment strategy)"),
    ("AWS::ECS::Service", "NetworkConfiguration", "the network configuration changes: ECS starts a new deployment that replaces every task"),
    ("AWS::ECS::Service", "PlatformVersion", "the Fargate platform version changes: ECS starts a new deployment that replaces every task"),
    ("AWS::ECS::Service", "CapacityProviderStrategy", "the capacity provider strategy changes: ECS starts a new deployment that replaces every task"),
    ("AWS::ECS::Service", "LoadBalancers", "the load balancer wiring changes: ECS starts a new deployment that replaces every task"),
    ("AWS::ECS::Service", "ServiceConnectConfiguration", "Service Connect changes: ECS starts a new deployment that replaces every task"),
    ("AWS::ECS::Service", "VolumeConfigurations", "the service-managed volumes change: ECS starts a new deployment that replaces every task"),
];

/// Notes on a modified resource: interruptions ([`INTERRUPTIONS`]) and a `Condition` that turns
/// the resource off (then CloudFormation deletes it: the change becomes a deletion).
fn explain_modify(c: &mut Change, o: &Value, n: &Value, new: Known) {
    if c.action == Action::Modify {
        for (t, prop, what) in INTERRUPTIONS {
            if *t == c.resource_type
                && c.properties
                    .iter()
                    .any(|p| p.path == *prop || p.path.starts_with(&format!("{prop}/")))
            {
                c.notes.push(format!("interruption: {what}"));
            }
        }
    }
    let Some(cond) = n["Condition"].as_str() else {
        return;
    };
    if o["Condition"] == n["Condition"] {
        return;
    }
    match new.condition(cond, 0) {
        Some(false) => {
            c.action = Action::Delete;
            c.replacement = Replacement::Never;
            c.old_policy = o["DeletionPolicy"].as_str().map(str::to_string);
            c.notes.push(format!(
                "its new Condition {cond} is false with the parameters' defaults: CloudFormation deletes the resource"
            ));
        }
        Some(true) => c.notes.push(format!(
            "its new Condition {cond} holds with the parameters' defaults and the stack's environment: the resource stays"
        )),
        None => c.notes.push(format!(
            "warning: its new Condition {cond} depends on values the review does not know (a parameter without a default, a pseudo parameter the cloud assembly does not give, a function): if it is false at deploy time, CloudFormation deletes the resource"
        )),
    }
}

/// A new resource under a `Condition`: false means CloudFormation does not create it.
fn explain_add(c: &mut Change, n: &Value, new: Known) {
    let Some(cond) = n["Condition"].as_str() else {
        return;
    };
    match new.condition(cond, 0) {
        Some(false) => c.notes.push(format!(
            "its Condition {cond} is false with the parameters' defaults and the stack's environment: CloudFormation does not create it"
        )),
        Some(true) => {}
        None => c.notes.push(format!(
            "warning: its Condition {cond} depends on values the review does not know: it is created only if the condition holds at deploy time"
        )),
    }
}

/// The literal custom name of a resource: the property `<Type's last segment>Name`
/// (`BucketName`, `QueueName`, `BackupVaultName`: names unique in the account or region, which a
/// replacement cannot reuse while the old resource exists).
fn custom_name(type_: &str, props: &Value) -> Option<(String, String)> {
    let key = format!("{}Name", type_.rsplit("::").next()?);
    props[&key].as_str().map(|v| (key, v.to_string()))
}

/// Notes on a replaced resource: a custom name CloudFormation refuses to replace, and a Cloud
/// Map service whose DNS name goes away.
fn explain_replace(c: &mut Change, o: &Value, n: &Value) {
    let (op, np) = (&o["Properties"], &n["Properties"]);
    if let (Some((k, old)), Some((_, new))) = (
        custom_name(&c.resource_type, op),
        custom_name(&c.resource_type, np),
    ) {
        if old == new {
            c.notes.push(format!(
                "will fail: CloudFormation cannot replace a custom-named resource ({k} {old:?} stays): the update fails and rolls back; change the name, or remove it and let CloudFormation generate one"
            ));
        }
    }
    if c.resource_type == "AWS::ServiceDiscovery::Service" {
        let name = |p: &Value| p["Name"].as_str().map(str::to_string);
        match (name(op), name(np)) {
            (Some(a), Some(b)) if a != b => c.notes.push(format!(
                "interruption: the Cloud Map service {a:?} becomes {b:?}: the DNS name clients use ({a}.<namespace>) disappears; clients still configured with it fail"
            )),
            _ => c.notes.push(
                "interruption: the Cloud Map service is recreated: its DNS records are gone until the new service's instances register"
                    .into(),
            ),
        }
    }
}

/// A deleted KMS key is scheduled for deletion; after the waiting period whatever it encrypted
/// is unreadable. Data loss unless nothing (but its aliases) references it, or it is retained.
fn kms_key_deleted(c: &mut Change, id: &str, o: &Value, old_r: &Map<String, Value>) {
    if matches!(
        o["DeletionPolicy"].as_str(),
        Some("Retain" | "RetainExceptOnCreate")
    ) {
        return;
    }
    let users: Vec<String> = old_r
        .iter()
        .filter(|(other, r)| *other != id && r["Type"] != "AWS::KMS::Alias")
        .filter(|(_, r)| {
            let mut refs = BTreeSet::new();
            references(r, &mut refs);
            refs.contains(id)
        })
        .map(|(other, _)| other.clone())
        .collect();
    let days = o["Properties"]["PendingWindowInDays"]
        .as_i64()
        .unwrap_or(30);
    if users.is_empty() {
        c.notes.push(format!(
            "a KMS key scheduled for deletion (in {days} days); nothing in the template references it"
        ));
    } else {
        c.guardrails.push(crate::report::Weakened {
            risk: crate::report::Risk::DataLoss,
            setting: "KMS key".into(),
            message: format!(
                "the KMS key is scheduled for deletion (in {days} days): whatever it encrypted becomes unreadable; used by {} (cancel the deletion within the waiting period to recover)",
                users.join(", ")
            ),
        });
    }
}

/// Adds a note to a delete and an add that look like the same construct moved or renamed:
/// the same type and either the same last two construct-path segments, or the same properties
/// (a rename that kept everything else).
fn pair_renames(changes: &mut [Change], old_r: &Map<String, Value>, new_r: &Map<String, Value>) {
    let tail = |p: &Option<String>| -> Option<String> {
        let p = p.as_ref()?;
        let segs: Vec<&str> = p.split('/').collect();
        Some(segs[segs.len().saturating_sub(2)..].join("/"))
    };
    let props = |r: &Map<String, Value>, id: &str| -> Option<Value> {
        let p = &r.get(id)?["Properties"];
        (!p.is_null() && p.as_object().is_none_or(|m| !m.is_empty())).then(|| p.clone())
    };
    let adds: Vec<usize> = (0..changes.len())
        .filter(|i| changes[*i].action == Action::Add)
        .collect();
    let mut notes = Vec::new();
    let mut taken = BTreeSet::new();
    for (i, c) in changes.iter().enumerate() {
        if c.action != Action::Delete {
            continue;
        }
        let same_type: Vec<usize> = adds
            .iter()
            .copied()
            .filter(|j| changes[*j].resource_type == c.resource_type && !taken.contains(j))
            .collect();
        let t = tail(&c.construct_path);
        let by_path: Vec<usize> = same_type
            .iter()
            .copied()
            .filter(|j| t.is_some() && tail(&changes[*j].construct_path) == t)
            .collect();
        let old_props = props(old_r, &c.logical_id);
        let by_props: Vec<usize> = same_type
            .iter()
            .copied()
            .filter(|j| old_props.is_some() && props(new_r, &changes[*j].logical_id) == old_props)
            .collect();
        let (j, how) = match (by_path.as_slice(), by_props.as_slice()) {
            ([j], _) => (*j, "same construct name"),
            (_, [j]) => (*j, "same type and the same properties"),
            _ => continue,
        };
        taken.insert(j);
        let new_name = changes[j]
            .construct_path
            .clone()
            .unwrap_or_else(|| changes[j].logical_id.clone());
        notes.push((
            i,
            format!(
                "looks moved or renamed to {new_name} ({}; {how}): CloudFormation deletes this one and creates a new one; keep the construct id, or move it with `cdk refactor`",
                changes[j].logical_id
            ),
        ));
        notes.push((
            j,
            format!(
                "looks moved or renamed from {} ({}; {how})",
                c.construct_path.as_deref().unwrap_or(&c.logical_id),
                c.logical_id
            ),
        ));
    }
    for (i, n) in notes {
        changes[i].notes.push(n);
    }
}

#[cfg(test)]
mod tests {
    //! The classification rules on minimal templates (the scenarios on real synthesized
    //! templates are in `tests/synthesized.rs`).
    use super::*;
    use serde_json::json;

    fn one(old: Value, new: Value) -> Change {
        let t = |r: Value| json!({"Resources": {"R": r}});
        let mut c = compare(&t(old), &t(new));
        assert_eq!(c.len(), 1, "{c:?}");
        c.remove(0)
    }

    #[test]
    fn type_change_replaces() {
        let c = one(
            json!({"Type": "AWS::SQS::Queue"}),
            json!({"Type": "AWS::SNS::Topic"}),
        );
        assert_eq!(
            (c.action, c.replacement),
            (Action::Replace, Replacement::Always)
        );
    }

    #[test]
    fn policies_and_metadata_modify_without_interruption() {
        let c = one(
            json!({"Type": "AWS::S3::Bucket", "Metadata": {"aws:cdk:path": "S/A/Resource"}}),
            json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                   "UpdateReplacePolicy": "Retain", "Metadata": {"aws:cdk:path": "S/B/Resource"}}),
        );
        assert_eq!(c.action, Action::Modify);
        assert_eq!(
            c.attributes,
            ["DeletionPolicy", "Metadata", "UpdateReplacePolicy"]
        );
        assert!(c.properties.is_empty());
    }

    #[test]
    fn nested_create_only_paths() {
        let budget = |name: &str, limit: i64| {
            json!({"Type": "AWS::Budgets::Budget", "Properties": {"Budget": {
                "BudgetName": name, "BudgetLimit": {"Amount": limit, "Unit": "USD"}}}})
        };
        let c = one(budget("a", 1), budget("a", 2));
        assert_eq!(c.action, Action::Modify, "{c:?}");
        let c = one(budget("a", 1), budget("b", 1));
        assert_eq!(c.action, Action::Replace, "{c:?}");
        assert_eq!(c.properties[0].path, "Budget/BudgetName");

        let rep = |arn: &str, extra: &str| {
            json!({"Type": "AWS::MSK::Replicator", "Properties": {"ReplicationInfoList": [
                {"SourceKafkaClusterArn": "arn:src", "TargetKafkaClusterArn": arn, "TopicReplication": {"x": extra}}]}})
        };
        // `ReplicationInfoList/*/SourceKafkaClusterArn` is create-only, the rest of the element
        // is not.
        let c = one(rep("arn:t", "1"), rep("arn:t", "2"));
        assert_eq!(c.action, Action::Modify, "{c:?}");
        let mut changed = rep("arn:t", "1");
        changed["Properties"]["ReplicationInfoList"][0]["SourceKafkaClusterArn"] =
            "arn:other".into();
        let c = one(rep("arn:t", "1"), changed);
        assert_eq!(c.action, Action::Replace, "{c:?}");
        assert!(c
            .properties
            .iter()
            .any(|p| p.path == "ReplicationInfoList/0/SourceKafkaClusterArn"
                && p.replacement == Replacement::Always));
    }

    #[test]
    fn a_literal_difference_inside_a_join_is_certain_a_reference_difference_is_not() {
        let image = |tag: &str, repo: &str| json!({"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, ".dkr.ecr/", {"Ref": repo}, ":", tag]]});
        assert!(certainly_differs(
            &image("v1", "Repo"),
            &image("v2", "Repo")
        ));
        assert!(!certainly_differs(
            &image("v1", "Repo"),
            &image("v1", "Other")
        ));
        assert!(!certainly_differs(
            &image("v1", "Repo"),
            &image("v1", "Repo")
        ));
        // Two literal parts changed: "a"+X+"" and ""+X+"a" can resolve alike when X is "".
        assert!(!certainly_differs(
            &json!({"Fn::Join": ["", ["a", {"Ref": "X"}, ""]]}),
            &json!({"Fn::Join": ["", ["", {"Ref": "X"}, "a"]]})
        ));
        assert!(certainly_differs(
            &json!([{"Image": image("v1", "Repo"), "Cpu": 256}]),
            &json!([{"Image": image("v1", "Repo"), "Cpu": 512}])
        ));
        assert!(!certainly_differs(&json!({"Ref": "A"}), &json!("literal")));

        let td = |tag: &str| {
            json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "ContainerDefinitions": [{"Name": "app", "Image": image(tag, "Repo")}]}})
        };
        let c = one(td("v1"), td("v2"));
        assert_eq!(
            (c.action, c.replacement),
            (Action::Replace, Replacement::Always),
            "{c:?}"
        );
    }

    #[test]
    fn replacement_propagates_through_references_conditionally() {
        let old = json!({"Resources": {
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "a", "VpcId": "vpc-1"}},
            "Rule": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
                "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]}, "IpProtocol": "tcp",
                "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/16"}}}});
        let mut new = old.clone();
        new["Resources"]["Sg"]["Properties"]["GroupDescription"] = "b".into();
        let changes = compare(&old, &new);
        let rule = changes.iter().find(|c| c.logical_id == "Rule").unwrap();
        assert_eq!(
            (rule.action, rule.replacement),
            (Action::Replace, Replacement::Conditional)
        );
        assert!(rule.properties[0]
            .path
            .contains("references Sg, which is replaced"));
        // Re-creating the same rule is not widening.
        assert!(rule.widening.is_empty());
    }

    #[test]
    fn rename_is_delete_plus_add_with_a_hint() {
        let r = |path: &str| {
            json!({"Type": "AWS::EC2::Volume", "Properties": {"Size": 50},
            "Metadata": {"aws:cdk:path": path}})
        };
        let old = json!({"Resources": {"DataVolA": r("S/Data/Volume/Resource")}});
        let new = json!({"Resources": {"DbVolB": r("S/Db/Volume/Resource")}});
        let changes = compare(&old, &new);
        assert_eq!(changes.len(), 2);
        let del = changes.iter().find(|c| c.action == Action::Delete).unwrap();
        assert!(
            del.notes[0].contains("renamed to S/Db/Volume/Resource"),
            "{:?}",
            del.notes
        );
        assert!(changes.iter().any(|c| c.action == Action::Add));
    }
}
