//! Stage 1: the jsii assembly, as read from `node_modules/<package>/.jsii`.
//!
//! Only the parts of the jsii spec the generator uses are modelled; unknown keys are ignored.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why an assembly could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source} (run `npm ci` first)")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a jsii assembly: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} redirects with compression {compression:?}; only gzip is supported")]
    Compression { path: PathBuf, compression: String },
}

#[derive(Debug, Deserialize)]
pub struct Assembly {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub types: BTreeMap<String, Type>,
    #[serde(default)]
    pub submodules: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Redirect {
    schema: String,
    #[serde(default)]
    compression: Option<String>,
    filename: String,
}

/// Reads `<package_dir>/.jsii`, following a `jsii/file-redirect` to a gzipped assembly.
pub fn load(package_dir: &Path) -> Result<Assembly, LoadError> {
    let path = package_dir.join(".jsii");
    let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    if bytes.len() < 4096 {
        if let Ok(redirect) = serde_json::from_slice::<Redirect>(&bytes) {
            if redirect.schema == "jsii/file-redirect" {
                let target = package_dir.join(&redirect.filename);
                let raw = std::fs::read(&target).map_err(|source| LoadError::Io {
                    path: target.clone(),
                    source,
                })?;
                let json = match redirect.compression.as_deref() {
                    Some("gzip") => {
                        let mut out = Vec::new();
                        flate2::read::GzDecoder::new(&raw[..])
                            .read_to_end(&mut out)
                            .map_err(|source| LoadError::Io {
                                path: target.clone(),
                                source,
                            })?;
                        out
                    }
                    None => raw,
                    Some(other) => {
                        return Err(LoadError::Compression {
                            path: target,
                            compression: other.to_string(),
                        })
                    }
                };
                return serde_json::from_slice(&json).map_err(|source| LoadError::Parse {
                    path: target,
                    source,
                });
            }
        }
    }
    serde_json::from_slice(&bytes).map_err(|source| LoadError::Parse { path, source })
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Class,
    Interface,
    Enum,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Type {
    pub fqn: String,
    pub kind: Kind,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub docs: Docs,
    #[serde(default)]
    pub datatype: bool,
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    #[serde(default)]
    pub base: Option<String>,
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default)]
    pub initializer: Option<Callable>,
    #[serde(default)]
    pub methods: Vec<Callable>,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub members: Vec<EnumMember>,
}

#[derive(Debug, Deserialize, Clone, Default)]
pub struct Docs {
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub deprecated: Option<String>,
    #[serde(default)]
    pub returns: Option<String>,
    #[serde(default)]
    pub see: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Callable {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub docs: Docs,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub returns: Option<Returns>,
    #[serde(default, rename = "static")]
    pub is_static: bool,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub variadic: bool,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type")]
    pub type_ref: TypeRef,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub variadic: bool,
    #[serde(default)]
    pub docs: Docs,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Returns {
    #[serde(rename = "type")]
    pub type_ref: TypeRef,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Property {
    pub name: String,
    #[serde(rename = "type")]
    pub type_ref: TypeRef,
    #[serde(default)]
    pub optional: bool,
    #[serde(default, rename = "static")]
    pub is_static: bool,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub docs: Docs,
}

#[derive(Debug, Deserialize, Clone)]
pub struct EnumMember {
    pub name: String,
    #[serde(default)]
    pub docs: Docs,
}

/// A jsii type reference.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub enum TypeRef {
    Primitive { primitive: String },
    Named { fqn: String },
    Collection { collection: Collection },
    Union { union: Members },
    Intersection { intersection: Members },
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Collection {
    pub kind: String,
    pub elementtype: Box<TypeRef>,
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Members {
    pub types: Vec<TypeRef>,
}
