//! The tracker's stacks, built from the construct library: `TrackerRegistry`, `TrackerStaging`
//! and `TrackerProduction`.
//!
//! Pipeline stage: CDK context -> [`Settings`] (typed, validated) -> recorded [`Program`]. The
//! binary hands the Program to the runner (the Node shim and aws-cdk-lib).

pub mod checkov;
pub mod limits;
pub mod nag;
pub mod sample;
pub mod schedules;
pub mod settings;
pub mod topology;
pub mod tracker;
pub mod workloads;

use std::path::PathBuf;

use cdk_from_rust::aws_cdk_lib::App;
use cdk_from_rust::program::Program;
use serde_json::{Map, Value};
use tracker_constructs::validation::ValidationErrors;

pub use settings::{Environment, Settings};

/// The settings of every environment and of the registry.
#[derive(Clone, Debug, PartialEq)]
pub struct AppSettings {
    pub staging: Settings,
    pub production: Settings,
}

impl AppSettings {
    /// The documented defaults (what `cdk.json`'s example values also give).
    pub fn defaults() -> AppSettings {
        AppSettings {
            staging: Settings::defaults(Environment::Staging),
            production: Settings::defaults(Environment::Production),
        }
    }

    /// Both environments' settings from CDK context; every problem of both is reported at once.
    pub fn from_context(context: &Map<String, Value>) -> Result<AppSettings, ValidationErrors> {
        let staging = Settings::from_context(Environment::Staging, context);
        let production = Settings::from_context(Environment::Production, context);
        match (staging, production) {
            (Ok(staging), Ok(production)) => {
                // One TrackerRegistry serves both environments.
                let mut c = tracker_constructs::validation::Check::new("Settings", "production");
                for (key, a, b) in [
                    (
                        "production.registryAccount",
                        &staging.registry_account,
                        &production.registry_account,
                    ),
                    (
                        "production.registryRegion",
                        &staging.registry_region,
                        &production.registry_region,
                    ),
                ] {
                    c.require(
                        a == b,
                        key,
                        b,
                        format!(
                            "the same as staging's ({a}): one TrackerRegistry serves both \
                             environments, set `registryAccount` / `registryRegion` without a \
                             prefix"
                        ),
                    );
                }
                c.finish()?;
                Ok(AppSettings {
                    staging,
                    production,
                })
            }
            (s, p) => Err(ValidationErrors(
                [s.err(), p.err()]
                    .into_iter()
                    .flatten()
                    .flat_map(|e| e.0)
                    .collect(),
            )),
        }
    }
}

/// Errors before anything is recorded.
#[derive(Debug, thiserror::Error)]
pub enum StacksError {
    /// The CDK context the CLI passed could not be read.
    #[error("cannot read the CDK context from {source_name}: {message}")]
    Context {
        source_name: String,
        message: String,
    },
    /// Settings or construct props were rejected; every problem is listed.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Where the context came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextSource {
    /// The CDK CLI passed it (`CDK_CONTEXT_JSON` or its overflow file): aws-cdk-lib reads it too.
    Cli,
    /// `cdk.json` read by hand (the binary run without the CLI): it must be handed to aws-cdk-lib.
    CdkJson,
}

/// The CDK context as the CLI passes it: `CDK_CONTEXT_JSON`, or the file named by
/// `CONTEXT_OVERFLOW_LOCATION_ENV` when it is too large for the environment. Without either (the
/// binary run by hand) the `context` of `cdk.json` in the working directory, so both ways
/// synthesize the same stacks.
pub fn context_from_env() -> Result<(Map<String, Value>, ContextSource), StacksError> {
    if let Ok(json) = std::env::var("CDK_CONTEXT_JSON") {
        return parse_object("CDK_CONTEXT_JSON", &json).map(|m| (m, ContextSource::Cli));
    }
    if let Ok(path) = std::env::var("CONTEXT_OVERFLOW_LOCATION_ENV") {
        let text = std::fs::read_to_string(&path).map_err(|e| StacksError::Context {
            source_name: path.clone(),
            message: e.to_string(),
        })?;
        return parse_object(&path, &text).map(|m| (m, ContextSource::Cli));
    }
    let path = PathBuf::from("cdk.json");
    if !path.exists() {
        return Ok((Map::new(), ContextSource::CdkJson));
    }
    cdk_json_context(&path).map(|m| (m, ContextSource::CdkJson))
}

/// The `context` object of a `cdk.json`.
pub fn cdk_json_context(path: &std::path::Path) -> Result<Map<String, Value>, StacksError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| StacksError::Context {
        source_name: name.clone(),
        message: e.to_string(),
    })?;
    let cdk_json = parse_object(&name, &text)?;
    match cdk_json.get("context") {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(StacksError::Context {
            source_name: name,
            message: format!("`context` must be a JSON object, got {other}"),
        }),
    }
}

fn parse_object(source_name: &str, text: &str) -> Result<Map<String, Value>, StacksError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StacksError::Context {
            source_name: source_name.to_string(),
            message: format!("expected a JSON object, got {other}"),
        }),
        Err(e) => Err(StacksError::Context {
            source_name: source_name.to_string(),
            message: e.to_string(),
        }),
    }
}

/// The environment that hands `context` to aws-cdk-lib in the shim, as the CDK CLI would: with
/// construct-path metadata on (the CLI's default), which the review uses to name constructs.
pub fn shim_env(context: &Map<String, Value>) -> Vec<(String, String)> {
    let mut context = context.clone();
    context
        .entry("aws:cdk:enable-path-metadata")
        .or_insert(Value::Bool(true));
    vec![(
        "CDK_CONTEXT_JSON".to_string(),
        Value::Object(context).to_string(),
    )]
}

/// Synthesizes the app of `settings` with `context` into `outdir` (tests, the review's
/// scenarios, and the binary run without the CLI).
pub fn synth_to(
    settings: &AppSettings,
    context: &Map<String, Value>,
    outdir: &std::path::Path,
) -> Result<cdk_from_rust::runner::Synthesized, SynthError> {
    let program = app_program(settings)?;
    let runner = cdk_from_rust::runner::Runner {
        outdir: outdir.to_path_buf(),
        env: shim_env(context),
        ..Default::default()
    };
    Ok(runner.run(&program)?)
}

/// Why [`synth_to`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(transparent)]
    Stacks(#[from] StacksError),
    #[error(transparent)]
    Run(#[from] cdk_from_rust::runner::RunError),
}

/// Records the whole CDK app: the registry and each environment's data and services stacks, cdk-nag's AwsSolutions checks, and the App marked
/// for synthesis. Construct validation errors of every stack are reported together.
pub fn app_program(settings: &AppSettings) -> Result<Program, StacksError> {
    let (program, result) = cdk_from_rust::record(|| {
        let app = App::new();
        nag::apply(&app);
        let results = [
            tracker::registry_stack(&app, &[&settings.staging, &settings.production]).map(drop),
            tracker::environment_stacks(&app, &settings.staging).map(drop),
            tracker::environment_stacks(&app, &settings.production).map(drop),
        ];
        cdk_from_rust::synthesize(&app);
        ValidationErrors::collect(results)
    });
    result?;
    Ok(program)
}

/// Records the app from the CDK context (see [`context_from_env`]); also returns the environment
/// the shim needs when the context did not come from the CLI.
pub fn app_program_from_env() -> Result<(Program, Vec<(String, String)>), StacksError> {
    let (context, source) = context_from_env()?;
    let settings = AppSettings::from_context(&context)?;
    let env = match source {
        ContextSource::Cli => Vec::new(),
        ContextSource::CdkJson => shim_env(&context),
    };
    Ok((app_program(&settings)?, env))
}
