//! What the review knows of a template's values before deploy: parameter defaults, the pseudo
//! parameters of the stack's environment (from the cloud assembly's manifest), conditions built
//! from them, and the intrinsic functions that only combine known values (`Fn::If`, `Fn::Join`,
//! `Fn::Sub`, `Fn::Select`, `Fn::FindInMap`). Everything else (`Fn::GetAtt`, a `Ref` to a
//! resource or to a parameter without a default, `Fn::ImportValue`, `Fn::GetAZs`, ...) is known
//! only at deploy time and stays as it is.

use std::path::Path;

use serde_json::{Map, Value};

/// The values of CloudFormation's pseudo parameters for the stack reviewed, where known.
/// `AWS::StackId` and `AWS::NotificationARNs` are never known before deploy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pseudo {
    /// `AWS::StackName`.
    pub stack_name: Option<String>,
    /// `AWS::AccountId`.
    pub account: Option<String>,
    /// `AWS::Region` (which also gives `AWS::Partition` and `AWS::URLSuffix`).
    pub region: Option<String>,
}

impl Pseudo {
    /// From a cloud-assembly environment string `aws://ACCOUNT/REGION`; `unknown-account` and
    /// `unknown-region` (an environment-agnostic stack) stay unknown.
    pub fn from_environment(stack_name: &str, environment: &str) -> Pseudo {
        let rest = environment.strip_prefix("aws://").unwrap_or_default();
        let mut parts = rest.splitn(2, '/');
        let known = |s: Option<&str>| {
            s.filter(|s| !s.is_empty() && !s.starts_with("unknown-"))
                .map(str::to_string)
        };
        Pseudo {
            stack_name: (!stack_name.is_empty()).then(|| stack_name.to_string()),
            account: known(parts.next()),
            region: known(parts.next()),
        }
    }

    /// The stack `stack_name`'s environment from the `manifest.json` of the cloud assembly in
    /// `dir` (`cdk.out`): the artifact whose id or `stackName` is `stack_name`. Without a
    /// readable manifest or such an artifact, only the stack name is known.
    pub fn from_assembly(dir: &Path, stack_name: &str) -> Pseudo {
        let manifest: Option<Value> = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let environment = manifest.as_ref().and_then(|m| {
            m["artifacts"].as_object()?.iter().find_map(|(id, a)| {
                let named = id == stack_name || a["properties"]["stackName"] == stack_name;
                (a["type"] == "aws:cloudformation:stack" && named)
                    .then(|| a["environment"].as_str())
                    .flatten()
            })
        });
        Pseudo::from_environment(stack_name, environment.unwrap_or_default())
    }

    /// The value of pseudo parameter `name`, where known.
    pub fn value(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::AccountId" => self.account.clone(),
            "AWS::Region" => self.region.clone(),
            "AWS::Partition" => self.region.as_deref().map(|r| partition(r).0.to_string()),
            "AWS::URLSuffix" => self.region.as_deref().map(|r| partition(r).1.to_string()),
            _ => None,
        }
    }
}

/// The partition and URL suffix of a region.
fn partition(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else if region.starts_with("us-isob-") {
        ("aws-iso-b", "sc2s.sgov.gov")
    } else if region.starts_with("us-iso-") {
        ("aws-iso", "c2s.ic.gov")
    } else {
        ("aws", "amazonaws.com")
    }
}

/// How deep [`Known::resolve`] and [`Known::condition`] go (nesting and condition references
/// together) before giving up: a bound on a malformed template's loops, far above real nesting.
const MAX_DEPTH: usize = 64;

/// A template together with what is known of its values.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    pub template: &'a Value,
    pub pseudo: &'a Pseudo,
}

/// What `Ref` names: a value, `AWS::NoValue` (the property is removed), or nothing known.
enum Referenced {
    Value(Value),
    NoValue,
    Unknown,
}

impl<'a> Known<'a> {
    pub fn new(template: &'a Value, pseudo: &'a Pseudo) -> Known<'a> {
        Known { template, pseudo }
    }

    /// Nothing known: for values CloudFormation resolved already (a change set's property
    /// values).
    pub fn nothing() -> Known<'static> {
        static NULL: Value = Value::Null;
        static NONE: Pseudo = Pseudo {
            stack_name: None,
            account: None,
            region: None,
        };
        Known::new(&NULL, &NONE)
    }

    fn reference(&self, name: &str) -> Referenced {
        if name == "AWS::NoValue" {
            return Referenced::NoValue;
        }
        if let Some(v) = self.pseudo.value(name) {
            return Referenced::Value(Value::String(v));
        }
        let p = &self.template["Parameters"][name];
        // An SSM parameter's default is the name of the SSM parameter, not its value.
        if p["Type"]
            .as_str()
            .is_some_and(|t| t.starts_with("AWS::SSM::"))
        {
            return Referenced::Unknown;
        }
        match &p["Default"] {
            v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                Referenced::Value(v.clone())
            }
            _ => Referenced::Unknown,
        }
    }

    /// `v` with every intrinsic function whose value is known replaced by that value (and
    /// `AWS::NoValue` removed); what is only known at deploy time is left as it is. A top-level
    /// `AWS::NoValue` becomes `null`.
    pub fn resolve(&self, v: &Value) -> Value {
        self.resolve_at(v, 0).unwrap_or(Value::Null)
    }

    /// `None` = `AWS::NoValue`.
    fn resolve_at(&self, v: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return Some(v.clone());
        }
        match v {
            Value::Array(a) => Some(Value::Array(
                a.iter()
                    .filter_map(|x| self.resolve_at(x, depth + 1))
                    .collect(),
            )),
            Value::Object(m) if m.len() == 1 => {
                let (k, args) = m.iter().next().expect("one entry");
                match self.function(k, args, depth) {
                    Some(Referenced::Value(x)) => Some(x),
                    Some(Referenced::NoValue) => None,
                    Some(Referenced::Unknown) => Some(v.clone()),
                    None => Some(Value::Object(self.resolve_map(m, depth))),
                }
            }
            Value::Object(m) => Some(Value::Object(self.resolve_map(m, depth))),
            _ => Some(v.clone()),
        }
    }

    fn resolve_map(&self, m: &Map<String, Value>, depth: usize) -> Map<String, Value> {
        m.iter()
            .filter_map(|(k, x)| Some((k.clone(), self.resolve_at(x, depth + 1)?)))
            .collect()
    }

    /// An intrinsic function `k` applied to `args`; `None` when `k` is not an intrinsic
    /// function (a plain one-key object).
    fn function(&self, k: &str, args: &Value, depth: usize) -> Option<Referenced> {
        use Referenced::{Unknown, Value as Known};
        let known = |x: Option<Value>| x.map_or(Unknown, Known);
        let list = |x: &Value| -> Option<Vec<Value>> {
            match self.resolve_at(x, depth + 1)? {
                Value::Array(a) if !a.iter().any(crate::diff::has_intrinsic) => Some(a),
                _ => None,
            }
        };
        Some(match k {
            "Ref" => match args.as_str() {
                Some(name) => self.reference(name),
                None => Unknown,
            },
            "Fn::If" => {
                let a = args.as_array();
                let part = |i: usize| a.and_then(|a| a.get(i));
                match (part(0).and_then(Value::as_str), part(1), part(2)) {
                    (Some(cond), Some(yes), Some(no)) => match self.condition(cond, depth + 1) {
                        Some(c) => match self.resolve_at(if c { yes } else { no }, depth + 1) {
                            Some(x) => Known(x),
                            None => Referenced::NoValue,
                        },
                        None => Unknown,
                    },
                    _ => Unknown,
                }
            }
            "Fn::Join" => known((|| {
                let a = args.as_array()?;
                let sep = a.first()?.as_str()?;
                let parts = list(a.get(1)?)?;
                let strings: Option<Vec<String>> = parts.iter().map(scalar).collect();
                Some(Value::String(strings?.join(sep)))
            })()),
            "Fn::Select" => known((|| {
                let a = args.as_array()?;
                let i = scalar(&self.resolve_at(a.first()?, depth + 1)?)?;
                list(a.get(1)?)?.get(i.parse::<usize>().ok()?).cloned()
            })()),
            "Fn::FindInMap" => known((|| {
                let a = args.as_array()?;
                let key = |i: usize| scalar(&self.resolve_at(a.get(i)?, depth + 1)?);
                let v = &self.template["Mappings"][key(0)?][key(1)?][key(2)?];
                (!v.is_null()).then(|| v.clone())
            })()),
            "Fn::Sub" => known((|| {
                let (text, vars) = match args {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) => (a.first()?.as_str()?, a.get(1)?.as_object()),
                    _ => return None,
                };
                self.sub(text, vars, depth).map(Value::String)
            })()),
            "Condition" => return None,
            f if f.starts_with("Fn::") => Unknown,
            _ => return None,
        })
    }

    /// `Fn::Sub`'s text with `${Name}` replaced from `vars`, parameters and pseudo parameters;
    /// `${!Literal}` is `${Literal}`. `None` when a name is not known (a resource, an attribute).
    fn sub(&self, text: &str, vars: Option<&Map<String, Value>>, depth: usize) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else {
                let value = match vars.and_then(|v| v.get(name)) {
                    Some(v) => scalar(&self.resolve_at(v, depth + 1)?),
                    None => match self.reference(name) {
                        Referenced::Value(v) => scalar(&v),
                        _ => None,
                    },
                };
                out.push_str(&value?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The value of condition `name`, where it is known. `None` where a value is only known at
    /// deploy time (or the conditions refer to each other in a loop).
    pub fn condition(&self, name: &str, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.boolean(&self.template["Conditions"][name], depth + 1)
    }

    fn boolean(&self, v: &Value, depth: usize) -> Option<bool> {
        let m = v.as_object()?;
        let (k, args) = m.iter().next()?;
        let list = || args.as_array().cloned().unwrap_or_default();
        match k.as_str() {
            "Condition" => self.condition(args.as_str()?, depth),
            "Fn::Equals" => {
                let l = list();
                let value = |x: &Value| {
                    let r = self.resolve_at(x, depth + 1)?;
                    scalar(&r)
                };
                Some(value(l.first()?)? == value(l.get(1)?)?)
            }
            "Fn::Not" => Some(!self.boolean(list().first()?, depth)?),
            // `And` is false once one part is false, `Or` true once one part is true;
            // otherwise known only when every part is.
            "Fn::And" | "Fn::Or" => {
                let decisive = k == "Fn::Or";
                let vals: Vec<Option<bool>> =
                    list().iter().map(|x| self.boolean(x, depth)).collect();
                if vals.contains(&Some(decisive)) {
                    Some(decisive)
                } else {
                    vals.into_iter()
                        .collect::<Option<Vec<bool>>>()
                        .map(|_| !decisive)
                }
            }
            _ => None,
        }
    }
}

/// A scalar as the string CloudFormation compares (`Fn::Equals`) and joins.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pseudo() -> Pseudo {
        Pseudo::from_environment("TrackerStaging", "aws://111122223333/eu-central-1")
    }

    #[test]
    fn environment_strings() {
        let p = pseudo();
        assert_eq!(p.value("AWS::AccountId").as_deref(), Some("111122223333"));
        assert_eq!(p.value("AWS::Region").as_deref(), Some("eu-central-1"));
        assert_eq!(p.value("AWS::Partition").as_deref(), Some("aws"));
        assert_eq!(p.value("AWS::URLSuffix").as_deref(), Some("amazonaws.com"));
        assert_eq!(p.value("AWS::StackName").as_deref(), Some("TrackerStaging"));
        assert_eq!(p.value("AWS::StackId"), None);
        let cn = Pseudo::from_environment("S", "aws://1/cn-north-1");
        assert_eq!(cn.value("AWS::Partition").as_deref(), Some("aws-cn"));
        assert_eq!(
            cn.value("AWS::URLSuffix").as_deref(),
            Some("amazonaws.com.cn")
        );
        let agnostic = Pseudo::from_environment("S", "aws://unknown-account/unknown-region");
        assert_eq!(agnostic.value("AWS::Region"), None);
        assert_eq!(agnostic.value("AWS::Partition"), None);
        assert_eq!(agnostic.value("AWS::AccountId"), None);
        assert_eq!(
            Pseudo::from_environment("", "").value("AWS::StackName"),
            None
        );
    }

    #[test]
    fn conditions_evaluate_where_values_are_known() {
        let t = json!({
        "Parameters": {"Env": {"Type": "String", "Default": "staging"}, "Free": {"Type": "String"}},
        "Conditions": {
            "Prod": {"Fn::Equals": [{"Ref": "Env"}, "production"]},
            "NotProd": {"Fn::Not": [{"Condition": "Prod"}]},
            "Unknown": {"Fn::Equals": [{"Ref": "Free"}, "x"]},
            "AndFalse": {"Fn::And": [{"Condition": "Prod"}, {"Condition": "Unknown"}]},
            "AndUnknown": {"Fn::And": [{"Condition": "NotProd"}, {"Condition": "Unknown"}]},
            "OrTrue": {"Fn::Or": [{"Condition": "Unknown"}, {"Condition": "NotProd"}]},
            "OrUnknown": {"Fn::Or": [{"Condition": "Unknown"}, {"Condition": "Prod"}]},
            "Loop": {"Condition": "Loop"},
            "InEu": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-central-1"]},
            "China": {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]},
            "Named": {"Fn::Equals": [{"Fn::Sub": "${AWS::StackName}-${Env}"}, "TrackerStaging-staging"]},
            "Stack": {"Fn::Equals": [{"Ref": "AWS::StackId"}, "x"]}
        }});
        let p = pseudo();
        let k = Known::new(&t, &p);
        let ev = |n: &str| k.condition(n, 0);
        assert_eq!(ev("Prod"), Some(false));
        assert_eq!(ev("NotProd"), Some(true));
        assert_eq!(ev("Unknown"), None);
        assert_eq!(ev("AndFalse"), Some(false));
        assert_eq!(ev("AndUnknown"), None);
        assert_eq!(ev("OrTrue"), Some(true));
        assert_eq!(ev("OrUnknown"), None);
        assert_eq!(ev("Loop"), None);
        assert_eq!(ev("Missing"), None);
        assert_eq!(ev("InEu"), Some(true));
        assert_eq!(ev("China"), Some(false));
        assert_eq!(ev("Named"), Some(true));
        assert_eq!(ev("Stack"), None);
        // Without the environment, the region is not known.
        let none = Pseudo::default();
        assert_eq!(Known::new(&t, &none).condition("InEu", 0), None);
    }

    #[test]
    fn resolves_known_functions_and_leaves_the_rest() {
        let t = json!({
            "Parameters": {"Days": {"Type": "Number", "Default": 30}, "Free": {"Type": "String"},
                "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"}},
            "Mappings": {"Size": {"eu-central-1": {"Disk": 100}}},
            "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Days"}, "90"]}}
        });
        let p = pseudo();
        let k = Known::new(&t, &p);
        let v = json!({
            "Retention": {"Ref": "Days"},
            "Protect": {"Fn::If": ["Prod", true, {"Ref": "AWS::NoValue"}]},
            "Arn": {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "s3", "", "", "b"]]},
            "Disk": {"Fn::FindInMap": ["Size", {"Ref": "AWS::Region"}, "Disk"]},
            "First": {"Fn::Select": [1, ["a", {"Ref": "Free"}]]},
            "Second": {"Fn::Select": [0, ["a", "b"]]},
            "Sub": {"Fn::Sub": ["${X}/${!Lit}/${AWS::AccountId}", {"X": {"Ref": "Days"}}]},
            "Attr": {"Fn::GetAtt": ["Bucket", "Arn"]},
            "Free": {"Ref": "Free"},
            "Ssm": {"Ref": "Version"},
            "List": ["a", {"Ref": "AWS::NoValue"}, {"Ref": "Days"}]
        });
        assert_eq!(
            k.resolve(&v),
            json!({
                "Retention": 30,
                "Arn": "arn:aws:s3:::b",
                "Disk": 100,
                "First": {"Fn::Select": [1, ["a", {"Ref": "Free"}]]},
                "Second": "a",
                "Sub": "30/${Lit}/111122223333",
                "Attr": {"Fn::GetAtt": ["Bucket", "Arn"]},
                "Free": {"Ref": "Free"},
                "Ssm": {"Ref": "Version"},
                "List": ["a", 30]
            })
        );
    }

    #[test]
    fn deep_values_resolve_and_loops_end() {
        let t = json!({
            "Parameters": {"Env": {"Type": "String", "Default": "staging"}},
            "Conditions": {
                "Staging": {"Fn::Equals": [{"Ref": "Env"}, "staging"]},
                "Loop": {"Fn::Equals": [{"Fn::If": ["Loop", "a", "b"]}, "a"]}
            }
        });
        let p = Pseudo::default();
        let k = Known::new(&t, &p);
        // A Fn::If nested 25 levels deep still sees its condition.
        let mut v = json!({"Fn::If": ["Staging", 7, 9]});
        for _ in 0..25 {
            v = json!({ "Nested": v });
        }
        let mut r = k.resolve(&v);
        for _ in 0..25 {
            r = r["Nested"].clone();
        }
        assert_eq!(r, json!(7));
        // A condition that refers to itself through Fn::If is unknown, not a stack overflow.
        assert_eq!(k.condition("Loop", 0), None);
    }

    #[test]
    fn reads_the_environment_from_the_assembly_manifest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            json!({"artifacts": {
                "TrackerStaging": {"type": "aws:cloudformation:stack",
                    "environment": "aws://111122223333/eu-central-1",
                    "properties": {"templateFile": "TrackerStaging.template.json"}},
                "Nested": {"type": "aws:cloudformation:stack",
                    "environment": "aws://444455556666/us-east-1",
                    "properties": {"stackName": "Other"}}
            }})
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            Pseudo::from_assembly(dir.path(), "TrackerStaging"),
            pseudo()
        );
        let other = Pseudo::from_assembly(dir.path(), "Other");
        assert_eq!(other.region.as_deref(), Some("us-east-1"));
        let missing = Pseudo::from_assembly(dir.path(), "Missing");
        assert_eq!(missing.region, None);
        assert_eq!(missing.stack_name.as_deref(), Some("Missing"));
        let no_manifest = Pseudo::from_assembly(&dir.path().join("nope"), "TrackerStaging");
        assert_eq!(no_manifest.account, None);
    }
}
