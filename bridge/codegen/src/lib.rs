//! The bindings generator of `cdk-from-rust`: jsii assemblies -> Rust source.
//!
//! Pipeline: [`jsii::load`] (stage 1, the assembly) -> [`gen::generate`] (stage 2, Rust files) ->
//! [`write`] or [`verify`] (stage 3, the committed tree under `bridge/`).

pub mod gen;
pub mod jsii;

use std::path::{Path, PathBuf};

use gen::{File, ModuleSpec};

/// The aws-cdk-lib submodules that get bindings (DESIGN.md section 4), besides the core module.
pub const AWS_CDK_LIB_MODULES: &[&str] = &[
    "aws_applicationautoscaling",
    "aws_autoscaling",
    "aws_backup",
    "aws_certificatemanager",
    "aws_cloudfront",
    "aws_cloudfront_origins",
    "aws_cloudwatch",
    "aws_cloudwatch_actions",
    "aws_ec2",
    "aws_ecr",
    "aws_ecs",
    "aws_efs",
    "aws_elasticache",
    "aws_elasticloadbalancingv2",
    "aws_elasticloadbalancingv2_targets",
    "aws_events",
    "aws_events_targets",
    "aws_iam",
    "aws_kms",
    "aws_lambda",
    "aws_logs",
    "aws_route53",
    "aws_route53_targets",
    "aws_s3",
    "aws_s3_deployment",
    "aws_scheduler",
    "aws_scheduler_targets",
    "aws_secretsmanager",
    "aws_servicediscovery",
    "aws_sns",
    "aws_sqs",
    "aws_ssm",
    "aws_wafv2",
];

/// The list of bound jsii libraries, relative to the bridge crate: one npm package name a line,
/// optionally followed by `all` to put its feature into the `all` feature; `#` starts a comment.
pub const LIBRARIES_FILE: &str = "codegen/libraries.txt";

/// A jsii library bound besides constructs and aws-cdk-lib (e.g. cdk-nag): its root module
/// becomes `cdk_from_rust::<feature>`, behind the cargo feature of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Library {
    /// The npm package name, e.g. `cdk-nag` or `@scope/name`.
    pub package: String,
    /// Whether its feature is part of `all`.
    pub in_all: bool,
}

impl Library {
    /// The Rust module and cargo feature name: `cdk-nag` -> `cdk_nag`, `@scope/a-b` -> `scope_a_b`.
    pub fn feature(&self) -> String {
        let words: Vec<&str> = self
            .package
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words.join("_").to_ascii_lowercase()
    }
}

/// Reads [`LIBRARIES_FILE`].
pub fn read_libraries(bridge_dir: &Path) -> Result<Vec<Library>, CodegenError> {
    let path = bridge_dir.join(LIBRARIES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| CodegenError::Write {
        path: path.clone(),
        source,
    })?;
    let mut libraries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut words = line.split_whitespace();
        let Some(package) = words.next() else {
            continue;
        };
        let in_all = match words.next() {
            None => false,
            Some("all") => true,
            Some(other) => {
                return Err(CodegenError::LibraryLine {
                    line: line.to_string(),
                    word: other.to_string(),
                })
            }
        };
        libraries.push(Library {
            package: package.to_string(),
            in_all,
        });
    }
    Ok(libraries)
}

/// Appends `package` to [`LIBRARIES_FILE`] (outside `all`) unless it is listed already.
pub fn add_library(bridge_dir: &Path, package: &str) -> Result<(), CodegenError> {
    if read_libraries(bridge_dir)?
        .iter()
        .any(|l| l.package == package)
    {
        return Ok(());
    }
    let path = bridge_dir.join(LIBRARIES_FILE);
    let mut text = std::fs::read_to_string(&path).map_err(|source| CodegenError::Write {
        path: path.clone(),
        source,
    })?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(package);
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| CodegenError::Write { path, source })
}

/// The generated modules: constructs and aws-cdk-lib's core (always compiled), the allow-listed
/// aws-cdk-lib submodules and each library's root module (one cargo feature each).
pub fn modules(libraries: &[Library]) -> Vec<ModuleSpec> {
    let mut m = vec![
        ModuleSpec {
            jsii: "constructs".into(),
            path: vec!["constructs".into()],
            feature: None,
            in_all: true,
        },
        ModuleSpec {
            jsii: "aws-cdk-lib".into(),
            path: vec!["aws_cdk_lib".into()],
            feature: None,
            in_all: true,
        },
    ];
    for name in AWS_CDK_LIB_MODULES {
        m.push(ModuleSpec {
            jsii: format!("aws-cdk-lib.{name}"),
            path: vec!["aws_cdk_lib".into(), name.to_string()],
            feature: Some(name.to_string()),
            in_all: true,
        });
    }
    for library in libraries {
        m.push(ModuleSpec {
            jsii: library.package.clone(),
            path: vec![library.feature()],
            feature: Some(library.feature()),
            in_all: library.in_all,
        });
    }
    m
}

/// The packages whose assemblies are read, relative to `node_modules`.
pub fn packages(libraries: &[Library]) -> Vec<String> {
    let mut p = vec!["constructs".to_string(), "aws-cdk-lib".to_string()];
    p.extend(libraries.iter().map(|l| l.package.clone()));
    p
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error(transparent)]
    Load(#[from] jsii::LoadError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bridge/Cargo.toml has no `# BEGIN GENERATED FEATURES` / `# END GENERATED FEATURES` markers")]
    Markers,
    #[error("{LIBRARIES_FILE}: `{line}`: unknown word `{word}` (a line is an npm package name, optionally followed by `all`)")]
    LibraryLine { line: String, word: String },
    #[error("the committed bindings differ from what the pinned assemblies generate ({} file(s): {}); run `cargo run -p cdk-from-rust-codegen` and commit the result", .0.len(), .0.join(", "))]
    Drift(Vec<String>),
}

/// Reads the assemblies of constructs, aws-cdk-lib and the libraries of [`LIBRARIES_FILE`] and
/// generates every file (bindings, plus the feature table of `bridge/Cargo.toml` spliced in).
pub fn generate(node_modules: &Path, bridge_dir: &Path) -> Result<Vec<File>, CodegenError> {
    generate_with(node_modules, bridge_dir, &read_libraries(bridge_dir)?)
}

/// [`generate`] for these libraries.
pub fn generate_with(
    node_modules: &Path,
    bridge_dir: &Path,
    libraries: &[Library],
) -> Result<Vec<File>, CodegenError> {
    let assemblies = packages(libraries)
        .iter()
        .map(|p| jsii::load(&node_modules.join(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = gen::generate(&assemblies, &modules(libraries));
    let features = files
        .iter()
        .position(|f| f.path == "FEATURES")
        .expect("features are generated");
    let table = files.remove(features).contents;
    let versions: Vec<String> = assemblies
        .iter()
        .map(|a| format!("{}@{}", a.name, a.version))
        .collect();
    let cargo_path = bridge_dir.join("Cargo.toml");
    let cargo = std::fs::read_to_string(&cargo_path).map_err(|source| CodegenError::Write {
        path: cargo_path,
        source,
    })?;
    let (Some(begin), Some(end)) = (
        cargo.find("# BEGIN GENERATED FEATURES"),
        cargo.find("# END GENERATED FEATURES"),
    ) else {
        return Err(CodegenError::Markers);
    };
    let begin_line_end = begin + cargo[begin..].find('\n').unwrap() + 1;
    let spliced = format!(
        "{}# generated from {} by cdk-from-rust-codegen; do not edit\n{}{}",
        &cargo[..begin_line_end],
        versions.join(", "),
        table,
        &cargo[end..]
    );
    files.push(File {
        path: "Cargo.toml".into(),
        contents: spliced,
    });
    Ok(files)
}

/// Writes the generated files under `bridge_dir`, removing stale generated modules.
pub fn write(bridge_dir: &Path, files: &[File]) -> Result<(), CodegenError> {
    let generated = bridge_dir.join("src/generated");
    if generated.exists() {
        std::fs::remove_dir_all(&generated).map_err(|source| CodegenError::Write {
            path: generated.clone(),
            source,
        })?;
    }
    for f in files {
        let path = bridge_dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CodegenError::Write {
                path: parent.into(),
                source,
            })?;
        }
        std::fs::write(&path, &f.contents)
            .map_err(|source| CodegenError::Write { path, source })?;
    }
    Ok(())
}

/// Compares the generated files with the committed ones: the verify mode, for tests and CI.
pub fn verify(bridge_dir: &Path, files: &[File]) -> Result<(), CodegenError> {
    let mut drift = Vec::new();
    for f in files {
        match std::fs::read_to_string(bridge_dir.join(&f.path)) {
            Ok(committed) if committed == f.contents => {}
            _ => drift.push(f.path.clone()),
        }
    }
    let expected: std::collections::BTreeSet<String> =
        files.iter().map(|f| f.path.clone()).collect();
    let mut stack = vec![bridge_dir.join("src/generated")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(bridge_dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if !expected.contains(&rel) {
                    drift.push(format!("{rel} (stale)"));
                }
            }
        }
    }
    if drift.is_empty() {
        Ok(())
    } else {
        Err(CodegenError::Drift(drift))
    }
}
