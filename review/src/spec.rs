//! Which property changes force CloudFormation to replace a resource.
//!
//! The table comes from the resource provider schemas that cfn-lint ships
//! (`cfnlint/data/schemas/providers/us-east-1.json` -> `resources/<hash>.json`,
//! `createOnlyProperties`), extracted by [`generate_table`] into the committed, generated file
//! `review/data/create-only-properties.json` and embedded here. Regenerate it after upgrading
//! cfn-lint with `cargo run -p tracker-review --example write-replacement-table`; the test
//! `committed_table_matches_installed_cfn_lint` fails while the committed copy differs.
//!
//! Paths are the schema's JSON pointers without `/properties/`: `AvailabilityZone`,
//! `Catalog/CatalogArn`, `DestinationTableList/*/DestinationDatabaseName` (`*` = every element
//! of an array or every key of a map). A type whose schema has handlers but no `update` handler
//! cannot be updated in place: the generator records it as `["*"]` (every property replaces).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// The committed table (generated, never edited by hand).
pub const TABLE_JSON: &str = include_str!("../data/create-only-properties.json");

/// Where the provider schemas leave a gap that loses data: properties CloudFormation cannot
/// update in place although the provider schema declares no `createOnlyProperties` for them.
/// Each entry names its evidence. Kept deliberately tiny; the test
/// `schema_gaps_are_still_gaps` fails once cfn-lint's schema covers an entry, so it can go.
pub const SCHEMA_GAPS: &[(&str, &[&str], &str)] = &[(
    "AWS::EC2::Volume",
    &[
        "AvailabilityZone",
        "AvailabilityZoneId",
        "Encrypted",
        "KmsKeyId",
        "OutpostArn",
        "SnapshotId",
    ],
    "the registry schema of AWS::EC2::Volume declares no createOnlyProperties, yet EBS cannot \
     move, encrypt or re-seed a volume in place (CloudFormation: \"Volume properties other than \
     AutoEnableIO, type, size, and IOPS cannot be updated\"; the user guide marks these \
     \"Update requires: Replacement\")",
)];

/// The parsed table: resource type -> create-only paths, each split into segments.
pub struct Table {
    /// The cfn-lint version the table came from.
    pub cfn_lint: String,
    types: HashMap<String, Vec<Vec<String>>>,
}

impl Table {
    /// The embedded table plus [`SCHEMA_GAPS`].
    pub fn get() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut t = Table::parse(TABLE_JSON).expect("the committed table is valid JSON");
            for (type_, paths, _) in SCHEMA_GAPS {
                let entry = t.types.entry(type_.to_string()).or_default();
                for p in *paths {
                    entry.push(split(p));
                }
            }
            t
        })
    }

    /// Parses a table in the committed format (without the gaps).
    pub fn parse(text: &str) -> Result<Table, serde_json::Error> {
        let v: Value = serde_json::from_str(text)?;
        let cfn_lint = v["cfn_lint"].as_str().unwrap_or_default().to_string();
        let mut types = HashMap::new();
        if let Some(map) = v["types"].as_object() {
            for (t, paths) in map {
                let paths = paths
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p.as_str()).map(split).collect())
                    .unwrap_or_default();
                types.insert(t.clone(), paths);
            }
        }
        Ok(Table { cfn_lint, types })
    }

    /// The create-only paths of `type_`, or `None` for a type the schemas do not know (custom
    /// resources, `AWS::CDK::Metadata`, third-party types).
    pub fn create_only(&self, type_: &str) -> Option<&[Vec<String>]> {
        self.types.get(type_).map(Vec::as_slice)
    }

    /// The create-only paths of `type_` as written in the table (`A/B`).
    pub fn create_only_strings(&self, type_: &str) -> Vec<String> {
        self.create_only(type_)
            .unwrap_or_default()
            .iter()
            .map(|p| p.join("/"))
            .collect()
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/').map(str::to_string).collect()
}

/// Why the table could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(
        "cfn-lint is not installed in {0} (no lib/python3*/site-packages/cfnlint): run `make setup`"
    )]
    NoCfnLint(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The `site-packages` directory holding cfn-lint in the virtualenv `venv`.
pub fn find_site_packages(venv: &Path) -> Result<PathBuf, GenerateError> {
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).map_err(|_| GenerateError::NoCfnLint(venv.into()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.join("cfnlint").is_dir())
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| GenerateError::NoCfnLint(venv.into()))
}

fn read_json(path: &Path) -> Result<Value, GenerateError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenerateError::Read {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| GenerateError::Json {
        path: path.into(),
        source,
    })
}

/// The cfn-lint version, the schema date and every (type, provider schema) of the cfn-lint
/// installed in `venv`, sorted by type.
/// What [`each_schema`] reads: the cfn-lint version, the schema date, and (type, schema) pairs.
struct Schemas {
    version: String,
    schema_date: String,
    schemas: Vec<(String, Value)>,
}

fn each_schema(venv: &Path) -> Result<Schemas, GenerateError> {
    let site = find_site_packages(venv)?;
    let version = std::fs::read_dir(&site)
        .map_err(|source| GenerateError::Read {
            path: site.clone(),
            source,
        })?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("cfn_lint-")?
                .strip_suffix(".dist-info")
                .map(str::to_string)
        })
        .next()
        .unwrap_or_else(|| "unknown".to_string());
    let schemas = site.join("cfnlint/data/schemas");
    let schema_date = read_json(&schemas.join("version.json"))
        .ok()
        .and_then(|v| v["schema_date"].as_str().map(str::to_string))
        .unwrap_or_default();
    let providers = read_json(&schemas.join("providers/us-east-1.json"))?;
    let mut out = Vec::new();
    for (type_, hash) in providers.as_object().into_iter().flatten() {
        let Some(hash) = hash.as_str() else { continue };
        let schema = read_json(&schemas.join("resources").join(format!("{hash}.json")))?;
        out.push((type_.clone(), schema));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Schemas {
        version,
        schema_date,
        schemas: out,
    })
}

/// A generated table in the committed format.
fn render_table(
    generated: &str,
    version: &str,
    schema_date: &str,
    types: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut out = String::new();
    out.push_str("{\n");
    out.push_str(&format!("  \"generated\": {},\n", Value::from(generated)));
    out.push_str(&format!("  \"cfn_lint\": {},\n", Value::from(version)));
    out.push_str(&format!(
        "  \"schema_date\": {},\n",
        Value::from(schema_date)
    ));
    out.push_str("  \"region\": \"us-east-1\",\n");
    out.push_str("  \"types\": {\n");
    let n = types.len();
    for (i, (t, paths)) in types.iter().enumerate() {
        let sep = if i + 1 == n { "" } else { "," };
        out.push_str(&format!(
            "    {}: {}{sep}\n",
            Value::from(t.as_str()),
            serde_json::to_string(paths).expect("strings serialize")
        ));
    }
    out.push_str("  }\n}\n");
    out
}

/// A table generated from every provider schema of the cfn-lint installed in `venv`: the paths
/// `paths_of(type, schema)` gives each type (types without any left out unless `keep_empty`),
/// sorted, under the header `generated`.
fn generate(
    venv: &Path,
    generated: &str,
    keep_empty: bool,
    paths_of: impl Fn(&str, &Value) -> Vec<String>,
) -> Result<String, GenerateError> {
    let Schemas {
        version,
        schema_date,
        schemas,
    } = each_schema(venv)?;
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (type_, schema) in schemas {
        let mut paths = paths_of(&type_, &schema);
        paths.sort();
        paths.dedup();
        if keep_empty || !paths.is_empty() {
            types.insert(type_, paths);
        }
    }
    Ok(render_table(generated, &version, &schema_date, &types))
}

/// Generates the table's text from the cfn-lint installed in the virtualenv `venv`
/// (byte-identical for the same cfn-lint).
pub fn generate_table(venv: &Path) -> Result<String, GenerateError> {
    generate(
        venv,
        "GENERATED by `cargo run -p tracker-review --example write-replacement-table` from cfn-lint's provider schemas (createOnlyProperties; [\"*\"] = no update handler, every change replaces). Do not edit by hand.",
        true,
        |_, schema| {
            let handlers = schema.get("handlers").and_then(Value::as_object);
            if handlers.is_some_and(|h| !h.contains_key("update")) {
                return vec!["*".to_string()];
            }
            schema["createOnlyProperties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|p| p.strip_prefix("/properties/"))
                .map(str::to_string)
                .collect()
        },
    )
}

/// The committed table of policy-document properties (generated, never edited by hand).
pub const POLICY_JSON: &str = include_str!("../data/policy-properties.json");

/// Properties that the generator's rule (a free-form JSON property whose name says `Policy`)
/// finds but that hold no IAM policy document, each with what it holds instead. Matched by
/// property name anywhere, or by `type` + path.
pub const NOT_IAM_POLICIES: &[(&str, &str, &str)] = &[
    ("*", "DeliveryPolicy", "SNS delivery retries"),
    ("*", "FilterPolicy", "SNS message filtering"),
    ("*", "RedrivePolicy", "dead-letter queue settings"),
    ("*", "ReplayPolicy", "SNS message replay"),
    ("*", "ArchivePolicy", "SNS message archiving"),
    (
        "*",
        "DataProtectionPolicy",
        "data masking rules, not access",
    ),
    (
        "*",
        "RedriveAllowPolicy",
        "which queues may use a dead-letter queue, not an IAM document",
    ),
    (
        "AWS::NetworkManager::CoreNetwork",
        "PolicyDocument",
        "a core network's routing policy",
    ),
];

/// The policy-document paths of `type_` (segments; `*` = every element or key), from the
/// committed table generated from the provider schemas.
pub fn policy_properties(type_: &str) -> Vec<Vec<String>> {
    static TABLE: OnceLock<HashMap<String, Vec<Vec<String>>>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            Table::parse(POLICY_JSON)
                .expect("the committed policy table is valid JSON")
                .types
        })
        .get(type_)
        .cloned()
        .unwrap_or_default()
}

/// Every (type, path) of the committed policy table, for counts and docs.
pub fn policy_table() -> Vec<(String, String)> {
    let t = Table::parse(POLICY_JSON).expect("the committed policy table is valid JSON");
    let mut out: Vec<(String, String)> = t
        .types
        .iter()
        .flat_map(|(ty, ps)| ps.iter().map(move |p| (ty.clone(), p.join("/"))))
        .collect();
    out.sort();
    out
}

/// Whether a property schema holds free-form JSON (an object without declared properties, or a
/// string or object with `format: json`).
fn free_form_json(s: &Value) -> bool {
    let object = match &s["type"] {
        Value::String(t) => t == "object",
        Value::Array(a) => a.iter().any(|t| t == "object"),
        _ => false,
    };
    (object || s["format"] == "json")
        && s.get("properties").is_none()
        && s.get("patternProperties").is_none()
}

fn policy_paths(
    schema: &Value,
    props: &Value,
    at: &[String],
    depth: usize,
    seen: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    let Some(props) = props.as_object() else {
        return;
    };
    for (name, p) in props {
        let (resolved, r) = match p["$ref"].as_str() {
            Some(r) => (
                &schema["definitions"][r.rsplit('/').next().unwrap_or_default()],
                Some(r.to_string()),
            ),
            None => (p, None),
        };
        if r.as_ref().is_some_and(|r| seen.contains(r)) {
            continue;
        }
        let mut path = at.to_vec();
        path.push(name.clone());
        if name.contains("Polic") && free_form_json(resolved) {
            out.push(path.join("/"));
            continue;
        }
        if depth >= 4 {
            continue;
        }
        seen.extend(r.clone());
        if resolved.get("properties").is_some() {
            policy_paths(schema, &resolved["properties"], &path, depth + 1, seen, out);
        }
        let items = &resolved["items"];
        if !items.is_null() {
            let (item, ir) = match items["$ref"].as_str() {
                Some(r) => (
                    &schema["definitions"][r.rsplit('/').next().unwrap_or_default()],
                    Some(r.to_string()),
                ),
                None => (items, None),
            };
            if !ir.as_ref().is_some_and(|r| seen.contains(r)) {
                seen.extend(ir.clone());
                path.push("*".into());
                policy_paths(schema, &item["properties"], &path, depth + 1, seen, out);
                if ir.is_some() {
                    seen.pop();
                }
            }
        }
        if r.is_some() {
            seen.pop();
        }
    }
}

/// Generates the policy-document table's text from the cfn-lint installed in `venv`: every
/// property, at any depth, that holds a free-form JSON document and whose name says `Policy`,
/// less [`NOT_IAM_POLICIES`] (byte-identical for the same cfn-lint).
pub fn generate_policy_table(venv: &Path) -> Result<String, GenerateError> {
    generate(
        venv,
        "GENERATED by `cargo run -p tracker-review --example write-replacement-table` from cfn-lint's \
         provider schemas: every property that holds an IAM policy document (free-form JSON named \
         `...Policy...`, less NOT_IAM_POLICIES in review/src/spec.rs). Do not edit by hand.",
        false,
        |type_, schema| {
            let mut paths = Vec::new();
            policy_paths(
                schema,
                &schema["properties"],
                &[],
                0,
                &mut Vec::new(),
                &mut paths,
            );
            paths.retain(|p| {
                let last = p.rsplit('/').next().unwrap_or_default();
                !NOT_IAM_POLICIES
                    .iter()
                    .any(|(t, n, _)| (*t == "*" && *n == last) || (*t == type_ && *n == p))
            });
            paths
        },
    )
}

/// The workspace's virtualenv (`<workspace>/.venv`), as `make setup` creates it.
pub fn workspace_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv")
}

/// The committed table's path in the source tree.
pub fn table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/create-only-properties.json")
}

/// The committed policy-document table's path in the source tree.
pub fn policy_table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/policy-properties.json")
}
