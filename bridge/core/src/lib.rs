//! `cdk-from-rust-core`: the recording runtime of `cdk-from-rust`, the Program wire format, and the
//! generated core modules (constructs and aws-cdk-lib's core). Its build script generates every
//! enabled module; the shard crates (`cdk-from-rust-<shard>`) compile the others. Depend on
//! `cdk-from-rust`, which re-exports all of them.

pub mod program;
pub mod runtime;

// The core bindings and the shards' macros: `mod generated`, written by build.rs to OUT_DIR for
// the enabled features.
include!(concat!(env!("OUT_DIR"), "/generated.rs"));
pub use generated::*;

pub use runtime::{
    record, synthesize, Handle, JsAny, JsArray, JsBool, JsList, JsMap, JsNumber, JsObject,
    JsOptional, JsString, ListArg, Opaque, StructRef,
};
