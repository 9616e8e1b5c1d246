//! The tracker's stacks, built from the construct library: `TrackerRegistry`, `TrackerStaging`
//! and `TrackerProduction`.
//!
//! Pipeline stage: CDK context -> [`Settings`] (typed, validated) -> recorded [`Program`]. The
//! binary hands the Program to the runner (the Node shim and aws-cdk-lib).

pub mod nag;
pub mod sample;
pub mod settings;
pub mod tracker;

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
            (Ok(staging), Ok(production)) => Ok(AppSettings {
                staging,
                production,
            }),
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

/// The CDK context as the CLI passes it: `CDK_CONTEXT_JSON`, or the file named by
/// `CONTEXT_OVERFLOW_LOCATION_ENV` when it is too large for the environment. Without either (the
/// binary run by hand) the context of `cdk.json` in the working directory is used, so both ways
/// synthesize the same stacks.
pub fn context_from_env() -> Result<Map<String, Value>, StacksError> {
    let (source_name, text) = if let Ok(json) = std::env::var("CDK_CONTEXT_JSON") {
        ("CDK_CONTEXT_JSON".to_string(), json)
    } else if let Ok(path) = std::env::var("CONTEXT_OVERFLOW_LOCATION_ENV") {
        let text = std::fs::read_to_string(&path).map_err(|e| StacksError::Context {
            source_name: path.clone(),
            message: e.to_string(),
        })?;
        (path, text)
    } else {
        let path = PathBuf::from("cdk.json");
        if !path.exists() {
            return Ok(Map::new());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| StacksError::Context {
            source_name: "cdk.json".into(),
            message: e.to_string(),
        })?;
        let cdk_json: Value = serde_json::from_str(&text).map_err(|e| StacksError::Context {
            source_name: "cdk.json".into(),
            message: e.to_string(),
        })?;
        let context = cdk_json
            .get("context")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        ("cdk.json `context`".to_string(), context.to_string())
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StacksError::Context {
            source_name,
            message: format!("expected a JSON object, got {other}"),
        }),
        Err(e) => Err(StacksError::Context {
            source_name,
            message: e.to_string(),
        }),
    }
}

/// Records the whole CDK app: the three stacks, cdk-nag's AwsSolutions checks, and the App marked
/// for synthesis. Construct validation errors of every stack are reported together.
pub fn app_program(settings: &AppSettings) -> Result<Program, StacksError> {
    let (program, result) = cdk_from_rust::record(|| {
        let app = App::new(None);
        nag::apply(&app);
        let results = [
            tracker::registry_stack(&app, &settings.staging).map(drop),
            tracker::environment_stack(&app, &settings.staging).map(drop),
            tracker::environment_stack(&app, &settings.production).map(drop),
        ];
        cdk_from_rust::synthesize(&app);
        ValidationErrors::collect(results)
    });
    result?;
    Ok(program)
}

/// Records the app from the CDK context (see [`context_from_env`]).
pub fn app_program_from_env() -> Result<Program, StacksError> {
    let context = context_from_env()?;
    let settings = AppSettings::from_context(&context)?;
    app_program(&settings)
}
