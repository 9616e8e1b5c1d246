//! `cdk-from-rust`: JSII-free, typed Rust bindings to the real aws-cdk-lib.
//!
//! Rust code calls the generated bindings ([`aws_cdk_lib`], [`constructs`], and `cdk_nag` with
//! the feature of that name); each call records an operation in a [`program::Program`] (see
//! [`record`]). The [`runner::Runner`] hands the Program to a generic Node shim that replays it
//! against aws-cdk-lib and synthesizes the cloud assembly the CDK CLI reads.
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

pub mod runner;

// The bindings are generated at build time by `cdk-from-rust-core` (which also holds the runtime)
// and compiled in a few crates along the module graph (README.md, "Build cost"); the last one
// re-exports them all: `aws_cdk_lib`, `constructs`, the bound libraries and `PACKAGES`.
#[doc(inline)]
pub use cdk_from_rust_top::*;

// Each shard re-exports one `aws_cdk_lib` (its own, which globs the shards' below), whatever is
// enabled: were two different ones globbed, these names would be ambiguous and this would not
// compile (`make lint` and `make verify-features` check the crate alone with one module).
#[allow(unused_imports)]
use self::{aws_cdk_lib as _, constructs as _};

pub use cdk_from_rust_core::{program, runtime};
pub use runtime::{
    record, synthesize, Handle, JsAny, JsArray, JsBool, JsList, JsMap, JsNumber, JsObject,
    JsOptional, JsString, ListArg, Opaque, StructRef,
};
