//! The bindings generator of `cdk-from-rust`: jsii assemblies -> Rust source.
//!
//! Pipeline: [`jsii::load`] (stage 1, the assembly) -> [`gen::generate`] (stage 2, Rust files).
//! Stage 3 is twofold: `bridge/core/build.rs` writes the enabled modules to its `OUT_DIR`
//! ([`generate_enabled`]); the codegen binary writes or verifies the committed feature table of
//! `bridge/Cargo.toml` ([`feature_table`], [`verify`]).

pub mod gen;
pub mod jsii;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use gen::{File, ModuleSpec};

/// The aws-cdk-lib submodules whose types other modules refer to by their Rust types (the typed
/// core). Every submodule is generated behind its own feature; a reference into a module outside
/// this list is `rt::Opaque` (objects) or `rt::JsAny` (values). Referring to all of them by type
/// would make the modules' feature closures about twice as large (aws_ecs: 16 modules become
/// 55); adding a module here adds it to the closure of every module that refers to it.
pub const TYPED_AWS_CDK_LIB_MODULES: &[&str] = &[
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

/// One crate of the generated bindings. The bindings are split into a few crates along the module
/// graph, so that rustc compiles independent ones on different cores and none of them alone holds
/// the tracker's whole set (as one crate, 431k lines took 44 s and 2.7 GB): `cdk-from-rust-core`
/// (the runtime, constructs and aws-cdk-lib's core, and the build script that generates every
/// enabled module) and one `cdk-from-rust-<name>` crate per other shard, each of which includes
/// its enabled modules from the core's `OUT_DIR` (`cdk_from_rust_core::__shard_<name>!()`) and
/// re-exports the shards below it; `cdk-from-rust` re-exports the last one. Where a module is
/// compiled is invisible to users: every path is `cdk_from_rust::aws_cdk_lib::...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The crate is `cdk-from-rust-<name>`, in `bridge/shards/<name>`; `core` is `bridge/core`.
    pub name: &'static str,
    /// The shards whose modules this one's refer to (directly; their own below them too).
    pub deps: &'static [&'static str],
    /// The aws-cdk-lib submodules compiled in this shard (their nested modules with them). The
    /// core holds constructs and aws-cdk-lib's core; the last shard everything not listed.
    pub modules: &'static [&'static str],
}

/// The shards, lowest first: a module's typed references must stay in its shard or the shards
/// below it ([`check_shards`]). Chosen for the tracker's set on two cores, whose chain of typed
/// references is long (ecs needs lambda, which needs ec2, which needs s3, which needs events...):
/// beside each link of it, a shard of modules it does not need compiles on the other core
/// (`services` beside `ec2`, `compute` beside `net`, `edge` beside `ecs`). Every module that is
/// not listed goes to `top`, which re-exports the others.
pub const SHARDS: &[Shard] = &[
    Shard {
        name: "core",
        deps: &[],
        modules: &[],
    },
    Shard {
        name: "base",
        deps: &["core"],
        modules: &[
            "aws_cloudwatch",
            "aws_events",
            "aws_iam",
            "aws_kms",
            "aws_logs",
            "aws_s3",
            "aws_sqs",
            "aws_ssm",
        ],
    },
    Shard {
        name: "services",
        deps: &["base"],
        modules: &[
            "aws_applicationautoscaling",
            "aws_backup",
            "aws_ecr",
            "aws_elasticache",
            "aws_scheduler",
            "aws_sns",
            "aws_wafv2",
        ],
    },
    Shard {
        name: "ec2",
        deps: &["base"],
        modules: &["aws_ec2"],
    },
    Shard {
        name: "net",
        deps: &["ec2", "services"],
        modules: &[
            "aws_autoscaling",
            "aws_certificatemanager",
            "aws_elasticloadbalancingv2",
            "aws_route53",
            "aws_servicediscovery",
        ],
    },
    Shard {
        name: "compute",
        deps: &["ec2", "services"],
        modules: &["aws_efs", "aws_lambda", "aws_secretsmanager"],
    },
    Shard {
        name: "ecs",
        deps: &["net", "compute"],
        modules: &["aws_ecs"],
    },
    Shard {
        name: "edge",
        deps: &["net", "compute"],
        modules: &["aws_cloudfront"],
    },
    Shard {
        name: "top",
        deps: &["ecs", "edge"],
        modules: &[],
    },
];

/// The shard (index into [`SHARDS`]) of an aws-cdk-lib submodule path below `aws_cdk_lib`
/// (`["aws_ecs"]`, `["aws_ecr", "mixins"]`): a nested module goes with its top-level one.
fn shard_of_submodule(names: &[String]) -> usize {
    SHARDS
        .iter()
        .position(|s| s.modules.contains(&names[0].as_str()))
        .unwrap_or(SHARDS.len() - 1)
}

/// The shards reachable from `shard` through [`Shard::deps`], itself included.
pub fn shards_below(shard: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![shard];
    while let Some(s) = todo.pop() {
        if seen.insert(s) {
            todo.extend(SHARDS[s].deps.iter().map(|d| {
                SHARDS
                    .iter()
                    .position(|x| x.name == *d)
                    .expect("a shard's deps are shards")
            }));
        }
    }
    seen
}

/// Fails when a module refers by type to a module of a shard that is not below its own: that
/// crate would not compile. `uses` as [`gen::Generated::uses`], for every module.
pub fn check_shards(
    modules: &[ModuleSpec],
    uses: &[Option<BTreeSet<usize>>],
) -> Result<(), CodegenError> {
    let mut problems = Vec::new();
    for (m, spec) in modules.iter().enumerate() {
        let below = shards_below(spec.shard);
        for u in uses[m].iter().flatten() {
            if !below.contains(&modules[*u].shard) {
                problems.push(format!(
                    "{} (shard {}) refers to {} (shard {})",
                    spec.jsii,
                    SHARDS[spec.shard].name,
                    modules[*u].jsii,
                    SHARDS[modules[*u].shard].name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CodegenError::Shards { problems })
    }
}

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

/// The generated modules: constructs and aws-cdk-lib's core (always compiled), every submodule
/// of aws-cdk-lib (`aws-cdk-lib.aws_ecs` -> `aws_cdk_lib::aws_ecs`, feature `aws_ecs`; a nested
/// one, `aws-cdk-lib.interfaces.aws_s3` -> `aws_cdk_lib::interfaces::aws_s3`, feature
/// `interfaces_aws_s3`) and each library's root module (one cargo feature each).
pub fn modules(aws_cdk_lib: &jsii::Assembly, libraries: &[Library]) -> Vec<ModuleSpec> {
    let mut m = vec![
        ModuleSpec {
            jsii: "constructs".into(),
            path: vec!["constructs".into()],
            feature: None,
            in_all: true,
            typed: true,
            shard: 0,
        },
        ModuleSpec {
            jsii: "aws-cdk-lib".into(),
            path: vec!["aws_cdk_lib".into()],
            feature: None,
            in_all: true,
            typed: true,
            shard: 0,
        },
    ];
    // BTreeMap order puts a parent right before its children.
    for jsii in aws_cdk_lib.submodules.keys() {
        let Some(rest) = jsii.strip_prefix("aws-cdk-lib.") else {
            continue;
        };
        let names: Vec<String> = rest.split('.').map(str::to_string).collect();
        m.push(ModuleSpec {
            jsii: jsii.clone(),
            path: std::iter::once("aws_cdk_lib".to_string())
                .chain(names.iter().cloned())
                .collect(),
            typed: TYPED_AWS_CDK_LIB_MODULES.contains(&rest),
            feature: Some(names.join("_")),
            in_all: true,
            shard: shard_of_submodule(&names),
        });
    }
    for library in libraries {
        m.push(ModuleSpec {
            jsii: library.package.clone(),
            path: vec![library.feature()],
            feature: Some(library.feature()),
            in_all: library.in_all,
            typed: true,
            shard: SHARDS.len() - 1,
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

/// The modules of the assemblies [`load`] read (aws-cdk-lib's is the second of [`packages`]).
fn modules_of(assemblies: &[jsii::Assembly], libraries: &[Library]) -> Vec<ModuleSpec> {
    modules(&assemblies[1], libraries)
}

/// The environment variable naming the `node_modules` directory the build reads the assemblies
/// from (absolute, or relative to the directory cargo runs the build script in: the bridge crate).
pub const NODE_MODULES_ENV: &str = "CDK_FROM_RUST_NODE_MODULES";

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
    #[error("the shards of bridge/codegen/src/lib.rs (SHARDS) do not follow the module graph; move a module to a shard at or above the ones it refers to:\n  {}", problems.join("\n  "))]
    Shards { problems: Vec<String> },
    #[error("{LIBRARIES_FILE}: `{line}`: unknown word `{word}` (a line is an npm package name, optionally followed by `all`)")]
    LibraryLine { line: String, word: String },
    #[error("the committed bridge/{path} differs from what the pinned assemblies (and SHARDS) generate; run `cargo run -p cdk-from-rust-codegen` and commit the result")]
    Drift { path: String },
    #[error("no node_modules with aws-cdk-lib found: {NODE_MODULES_ENV} is not set and no ancestor of {start} has node_modules/aws-cdk-lib/.jsii; run `npm ci` in the repository, or set {NODE_MODULES_ENV} to the node_modules of the project that pins aws-cdk-lib")]
    NoNodeModules { start: PathBuf },
    #[error("{NODE_MODULES_ENV}={path}: no aws-cdk-lib/.jsii there (run `npm ci` in the project that pins aws-cdk-lib)")]
    BadNodeModules { path: PathBuf },
    #[error("{node_modules} has {found}, but bridge/Cargo.toml's feature table was generated from {expected}: run `npm ci` to install the pinned versions (or, when upgrading, `cargo run -p cdk-from-rust-codegen` and commit bridge/Cargo.toml)")]
    Versions {
        node_modules: PathBuf,
        found: String,
        expected: String,
    },
}

/// The `node_modules` to read the assemblies from: [`NODE_MODULES_ENV`] if set (relative to
/// `start`), else the nearest ancestor of `start` (itself included) with
/// `node_modules/aws-cdk-lib/.jsii`.
pub fn find_node_modules(start: &Path) -> Result<PathBuf, CodegenError> {
    if let Some(dir) = std::env::var_os(NODE_MODULES_ENV).filter(|v| !v.is_empty()) {
        let path = start.join(dir);
        return if path.join("aws-cdk-lib/.jsii").is_file() {
            Ok(path)
        } else {
            Err(CodegenError::BadNodeModules { path })
        };
    }
    start
        .ancestors()
        .map(|a| a.join("node_modules"))
        .find(|n| n.join("aws-cdk-lib/.jsii").is_file())
        .ok_or_else(|| CodegenError::NoNodeModules {
            start: start.to_path_buf(),
        })
}

/// Reads the assemblies of [`packages`].
pub fn load(
    node_modules: &Path,
    libraries: &[Library],
) -> Result<Vec<jsii::Assembly>, CodegenError> {
    Ok(packages(libraries)
        .iter()
        .map(|p| jsii::load(&node_modules.join(p)))
        .collect::<Result<Vec<_>, _>>()?)
}

/// `constructs@10.8.1, aws-cdk-lib@2.276.0, ...`: the versions line of the feature table.
pub fn versions(assemblies: &[jsii::Assembly]) -> String {
    assemblies
        .iter()
        .map(|a| format!("{}@{}", a.name, a.version))
        .collect::<Vec<_>>()
        .join(", ")
}

const GENERATED_FROM: &str = "# generated from ";
const GENERATED_BY: &str = " by cdk-from-rust-codegen; do not edit";

/// The versions the committed feature table of `bridge/Cargo.toml` was generated from.
pub fn pinned_versions(cargo_toml: &str) -> Option<&str> {
    let line = cargo_toml.lines().find(|l| l.starts_with(GENERATED_FROM))?;
    line.strip_prefix(GENERATED_FROM)?
        .strip_suffix(GENERATED_BY)
}

/// The whole library, every module generated: for the feature table and measurements. `dir` as
/// [`gen::generate`]'s.
pub fn generate_all(
    assemblies: &[jsii::Assembly],
    libraries: &[Library],
    dir: &Path,
) -> gen::Generated {
    gen::generate(
        assemblies,
        &modules_of(assemblies, libraries),
        &|_| true,
        dir,
    )
}

/// Replaces the lines between `# BEGIN GENERATED FEATURES` and `# END GENERATED FEATURES` of the
/// manifest `path` (relative to `bridge_dir`) with the versions line and `table`.
fn splice_table(
    bridge_dir: &Path,
    path: &str,
    assemblies: &[jsii::Assembly],
    table: &str,
) -> Result<File, CodegenError> {
    let cargo_path = bridge_dir.join(path);
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
        "{}{GENERATED_FROM}{}{GENERATED_BY}\n{}{}",
        &cargo[..begin_line_end],
        versions(assemblies),
        table,
        &cargo[end..]
    );
    Ok(File {
        path: path.into(),
        contents: spliced,
    })
}

/// The manifest and root of a shard's crate (`bridge/shards/<name>`), all generated from [`SHARDS`].
fn shard_crate(shard: &Shard) -> [File; 2] {
    let name = shard.name;
    let mut manifest = format!(
        "# generated from SHARDS in bridge/codegen/src/lib.rs by cdk-from-rust-codegen; do not edit\n\
         [package]\n\
         name = \"cdk-from-rust-{name}\"\n\
         description = \"Part of cdk-from-rust's generated bindings (shard `{name}`); depend on cdk-from-rust instead\"\n\
         edition.workspace = true\n\
         version.workspace = true\n\
         license.workspace = true\n\
         publish.workspace = true\n\
         \n\
         # Generated code with no tests of its own: `cargo test --workspace` would compile it again.\n\
         [lib]\n\
         test = false\n\
         doctest = false\n\
         \n\
         [dependencies]\n\
         cdk-from-rust-core = {{ path = \"../../core\" }}\n"
    );
    for d in shard.deps.iter().filter(|d| **d != "core") {
        manifest.push_str(&format!("cdk-from-rust-{d} = {{ path = \"../{d}\" }}\n"));
    }
    let modules = if shard.modules.is_empty() {
        "//! - every aws-cdk-lib module no other shard has, and the bound libraries\n".to_string()
    } else {
        shard
            .modules
            .iter()
            .map(|m| format!("//! - `{m}`\n"))
            .collect()
    };
    let lib = format!(
        "// generated from SHARDS in bridge/codegen/src/lib.rs by cdk-from-rust-codegen; do not edit\n\
         //! Shard `{name}` of cdk-from-rust's generated bindings, compiled apart from the other\n\
         //! shards: the enabled ones of\n\
         {modules}\
         //!\n\
         //! Depend on `cdk-from-rust`, which re-exports every module.\n\
         \n\
         cdk_from_rust_core::__shard_{name}!();\n"
    );
    [
        File {
            path: format!("shards/{name}/Cargo.toml"),
            contents: manifest,
        },
        File {
            path: format!("shards/{name}/src/lib.rs"),
            contents: lib,
        },
    ]
}

/// The generated files committed under `bridge/`: the feature tables of `Cargo.toml` and
/// `core/Cargo.toml` (spliced into the committed files) and the shard crates, after checking
/// that [`SHARDS`] follows the module graph.
pub fn feature_table(
    bridge_dir: &Path,
    assemblies: &[jsii::Assembly],
    libraries: &[Library],
) -> Result<Vec<File>, CodegenError> {
    let all = generate_all(assemblies, libraries, Path::new("/"));
    let modules = modules_of(assemblies, libraries);
    check_shards(&modules, &all.uses)?;
    let mut files = vec![
        splice_table(
            bridge_dir,
            "Cargo.toml",
            assemblies,
            &gen::features_text(&modules, &all.uses),
        )?,
        splice_table(
            bridge_dir,
            "core/Cargo.toml",
            assemblies,
            &gen::core_features_text(&modules),
        )?,
    ];
    for shard in &SHARDS[1..] {
        files.extend(shard_crate(shard));
    }
    Ok(files)
}

/// The bindings of the modules whose features are `enabled` (plus constructs and aws-cdk-lib's
/// core), after checking that the assemblies are the versions the committed feature table of
/// `bridge_dir/Cargo.toml` was generated from. What `bridge/core/build.rs` writes to `dir` (in its
/// `OUT_DIR`).
pub fn generate_enabled(
    node_modules: &Path,
    bridge_dir: &Path,
    enabled: &BTreeSet<String>,
    dir: &Path,
) -> Result<gen::Generated, CodegenError> {
    let libraries = read_libraries(bridge_dir)?;
    let assemblies = load(node_modules, &libraries)?;
    let cargo_path = bridge_dir.join("Cargo.toml");
    let cargo = std::fs::read_to_string(&cargo_path).map_err(|source| CodegenError::Write {
        path: cargo_path,
        source,
    })?;
    let found = versions(&assemblies);
    let expected = pinned_versions(&cargo).ok_or(CodegenError::Markers)?;
    if found != expected {
        return Err(CodegenError::Versions {
            node_modules: node_modules.to_path_buf(),
            found,
            expected: expected.to_string(),
        });
    }
    let modules = modules_of(&assemblies, &libraries);
    Ok(gen::generate(
        &assemblies,
        &modules,
        &|m| m.feature.as_ref().is_none_or(|f| enabled.contains(f)),
        dir,
    ))
}

/// Writes generated files under `dir`.
pub fn write(dir: &Path, files: &[File]) -> Result<(), CodegenError> {
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CodegenError::Write {
                path: parent.into(),
                source,
            })?;
        }
        // Unchanged files keep their modification time (rustc's fingerprints stay valid).
        if std::fs::read_to_string(&path).is_ok_and(|old| old == f.contents) {
            continue;
        }
        std::fs::write(&path, &f.contents)
            .map_err(|source| CodegenError::Write { path, source })?;
    }
    Ok(())
}

/// Compares the regenerated files of [`feature_table`] with the committed ones: the verify mode.
pub fn verify(bridge_dir: &Path, files: &[File]) -> Result<(), CodegenError> {
    for f in files {
        match std::fs::read_to_string(bridge_dir.join(&f.path)) {
            Ok(committed) if committed == f.contents => {}
            _ => {
                return Err(CodegenError::Drift {
                    path: f.path.clone(),
                })
            }
        }
    }
    Ok(())
}
