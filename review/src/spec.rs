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

/// Generates the table's text from the cfn-lint installed in the virtualenv `venv`
/// (byte-identical for the same cfn-lint).
pub fn generate_table(venv: &Path) -> Result<String, GenerateError> {
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
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (type_, hash) in providers.as_object().into_iter().flatten() {
        let Some(hash) = hash.as_str() else { continue };
        let schema = read_json(&schemas.join("resources").join(format!("{hash}.json")))?;
        let handlers = schema.get("handlers").and_then(Value::as_object);
        let mut paths: Vec<String> = if handlers.is_some_and(|h| !h.contains_key("update")) {
            vec!["*".to_string()]
        } else {
            schema["createOnlyProperties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|p| p.strip_prefix("/properties/"))
                .map(str::to_string)
                .collect()
        };
        paths.sort();
        paths.dedup();
        types.insert(type_.clone(), paths);
    }
    let mut out = String::new();
    out.push_str("{\n");
    out.push_str(
        "  \"generated\": \"GENERATED by `cargo run -p tracker-review --example write-replacement-table` \
         from cfn-lint's provider schemas (createOnlyProperties; [\\\"*\\\"] = no update handler, every \
         change replaces). Do not edit by hand.\",\n",
    );
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
    Ok(out)
}

/// The workspace's virtualenv (`<workspace>/.venv`), as `make setup` creates it.
pub fn workspace_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv")
}

/// The committed table's path in the source tree.
pub fn table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/create-only-properties.json")
}
