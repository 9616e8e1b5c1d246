//! `cdk-from-rust`: JSII-free, typed Rust bindings to the real aws-cdk-lib.
//!
//! Rust code calls the generated bindings ([`aws_cdk_lib`], [`constructs`], [`cdk_nag`]); each
//! call records an operation in a [`program::Program`] (see [`record`]). The [`runner::Runner`]
//! hands the Program to a generic Node shim that replays it against aws-cdk-lib and synthesizes
//! the cloud assembly the CDK CLI reads.
//!
//! ```no_run
//! use cdk_from_rust::aws_cdk_lib::{App, AppProps, Stack};
//! let (program, ()) = cdk_from_rust::record(|| {
//!     let app = App::new();
//!     Stack::new(&app, "Sample");
//!     cdk_from_rust::synthesize(&app);
//! });
//! cdk_from_rust::runner::Runner::default().run(&program).unwrap();
//! ```

pub mod program;
pub mod runner;
pub mod runtime;

// The bindings: `mod generated`, written by build.rs to OUT_DIR for the enabled features.
include!(concat!(env!("OUT_DIR"), "/generated.rs"));
pub use generated::*;

pub use runtime::{
    record, synthesize, Handle, JsAny, JsArray, JsBool, JsList, JsMap, JsNumber, JsObject,
    JsOptional, JsString, ListArg, Opaque, StructRef,
};
