//! The Program: the versioned wire format between Rust and the Node shim.
//!
//! A Program is a list of operations, replayed in order by `bridge/shim/replay.js` against
//! aws-cdk-lib. The JSON Schema of these types is committed at `bridge/schema/program.schema.json`
//! (regenerate with `cargo run -p cdk-from-rust --example write-schema`); a test fails when it drifts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The schema name every Program carries.
pub const SCHEMA_NAME: &str = "cdk-from-rust.program";
/// Major version: bumped on any change an older shim could misread. The shim refuses other majors.
pub const SCHEMA_MAJOR: u32 = 1;
/// Minor version: bumped on additions an older shim of the same major can ignore.
pub const SCHEMA_MINOR: u32 = 3;

/// A recorded construct program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Always [`SCHEMA_NAME`].
    pub schema: String,
    /// `"MAJOR.MINOR"`, see [`SCHEMA_MAJOR`] and [`SCHEMA_MINOR`].
    pub version: String,
    /// The operations, in replay order; `ops[i].id == i`.
    pub ops: Vec<Op>,
    /// Ids of the `aws-cdk-lib.App` results to synthesize after replay, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synth: Vec<u32>,
    /// The exact versions of the npm packages the recording bindings were generated from, by
    /// package name (since 1.1). The shim refuses to replay when a package the ops use is
    /// installed in another version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, String>,
}

impl Program {
    /// An empty Program of the current schema version.
    pub fn new() -> Self {
        Program {
            schema: SCHEMA_NAME.to_string(),
            version: format!("{SCHEMA_MAJOR}.{SCHEMA_MINOR}"),
            ops: Vec::new(),
            synth: Vec::new(),
            packages: BTreeMap::new(),
        }
    }

    /// The Program as pretty JSON (what `tracker-cdk program` prints and the shim reads).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Program always serializes")
    }

    /// The operation with this id, if any.
    pub fn op(&self, id: u32) -> Option<&Op> {
        self.ops.get(id as usize)
    }
}

impl Default for Program {
    fn default() -> Self {
        Program::new()
    }
}

/// One operation of a Program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Op {
    /// The id later operations refer to with `{"$ref": id}`; equal to the op's index.
    pub id: u32,
    /// What to do.
    #[serde(flatten)]
    pub kind: OpKind,
    /// The Rust call site that recorded the operation.
    pub site: Site,
}

/// The seven kinds of operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OpKind {
    /// `new Fqn(...args)`.
    New { fqn: String, args: Vec<Value> },
    /// `results[target].method(...args)`.
    Call {
        target: u32,
        method: String,
        args: Vec<Value>,
    },
    /// `results[target].property`.
    Get { target: u32, property: String },
    /// `Fqn.method(...args)`.
    Static {
        fqn: String,
        method: String,
        args: Vec<Value>,
    },
    /// `Fqn.property`.
    StaticGet { fqn: String, property: String },
    /// `results[target]`, checked to be an array of exactly `length` elements (since 1.2; a
    /// 1.1 shim refuses it as an unknown op kind): what `JsArray::expect_len` records, so that
    /// Rust iterating a list of aws-cdk-lib's agrees with the list's real length.
    Length { target: u32, length: u32 },
    /// `results[target]`, checked to be neither `undefined` nor `null` (since 1.3): what
    /// `JsOptional::expect` records for an optional result the Rust code relies on; the replay
    /// fails at that line with `message` when aws-cdk-lib returned nothing.
    Defined { target: u32, message: String },
}

impl OpKind {
    /// A short human description, e.g. `new aws-cdk-lib.aws_ecs.FargateService` or `call addTargets`.
    pub fn describe(&self) -> String {
        match self {
            OpKind::New { fqn, .. } => format!("new {fqn}"),
            OpKind::Call { method, .. } => format!("call {method}"),
            OpKind::Get { property, .. } => format!("get {property}"),
            OpKind::Static { fqn, method, .. } => format!("static {fqn}.{method}"),
            OpKind::StaticGet { fqn, property } => format!("static-get {fqn}.{property}"),
            OpKind::Length { length, .. } => format!("length (expect {length})"),
            OpKind::Defined { .. } => "defined".to_string(),
        }
    }
}

/// A Rust source location (from `#[track_caller]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl Site {
    /// The site of a `#[track_caller]` location.
    pub fn from_location(location: &std::panic::Location<'_>) -> Self {
        Site {
            file: location.file().replace('\\', "/"),
            line: location.line(),
            column: location.column(),
        }
    }
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// An argument value.
///
/// Plain JSON, except for objects with one of the reserved keys `$ref`, `$enum`, `$literal`,
/// `$undefined`: these stand for an earlier result, an enum member, a JSON value passed through
/// without decoding, and JavaScript's `undefined` (an omitted optional argument).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Value {
    /// The result of an earlier operation.
    Ref(RefValue),
    /// A member of a jsii enum.
    Enum(EnumValue),
    /// Arbitrary JSON, passed to aws-cdk-lib as it is (no `$ref` decoding inside).
    Literal(LiteralValue),
    /// JavaScript `undefined`.
    Undefined(UndefinedValue),
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// `{"$ref": id}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefValue {
    #[serde(rename = "$ref")]
    pub id: u32,
}

/// `{"$enum": fqn, "member": name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    #[serde(rename = "$enum")]
    pub fqn: String,
    pub member: String,
}

/// `{"$literal": json}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiteralValue {
    #[serde(rename = "$literal")]
    pub json: serde_json::Value,
}

/// `{"$undefined": true}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UndefinedValue {
    #[serde(rename = "$undefined")]
    pub undefined: bool,
}

impl Value {
    /// A reference to the result of operation `id`.
    pub fn reference(id: u32) -> Value {
        Value::Ref(RefValue { id })
    }

    /// An enum member.
    pub fn enum_member(fqn: &str, member: &str) -> Value {
        Value::Enum(EnumValue {
            fqn: fqn.to_string(),
            member: member.to_string(),
        })
    }

    /// JavaScript `undefined`.
    pub fn undefined() -> Value {
        Value::Undefined(UndefinedValue { undefined: true })
    }

    /// A number, written as an integer when it is one.
    pub fn number(n: f64) -> Value {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            Value::Number(serde_json::Number::from(n as i64))
        } else {
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
    }
}

/// The JSON Schema of [`Program`], as committed in `bridge/schema/program.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Program);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schema_matches_the_rust_types() {
        let committed = include_str!("../../schema/program.schema.json");
        assert!(
            committed == json_schema(),
            "bridge/schema/program.schema.json is out of date with bridge/core/src/program.rs; \
             regenerate it with `cargo run -p cdk-from-rust --example write-schema`"
        );
    }

    #[test]
    fn values_round_trip_with_their_reserved_keys() {
        let values = vec![
            Value::reference(3),
            Value::enum_member("aws-cdk-lib.aws_ecs.Protocol", "TCP"),
            Value::Literal(LiteralValue {
                json: serde_json::json!({"$ref": "not a ref"}),
            }),
            Value::undefined(),
            Value::number(30.0),
            Value::number(0.5),
            Value::String("x".into()),
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(
            json,
            r#"[{"$ref":3},{"$enum":"aws-cdk-lib.aws_ecs.Protocol","member":"TCP"},{"$literal":{"$ref":"not a ref"}},{"$undefined":true},30,0.5,"x"]"#
        );
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn ops_serialize_with_kebab_case_kinds() {
        let op = Op {
            id: 0,
            kind: OpKind::StaticGet {
                fqn: "aws-cdk-lib.Aws".into(),
                property: "REGION".into(),
            },
            site: Site {
                file: "a.rs".into(),
                line: 1,
                column: 2,
            },
        };
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["op"], "static-get");
        assert_eq!(json["fqn"], "aws-cdk-lib.Aws");
    }
}
