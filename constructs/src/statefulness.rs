//! What a construct's resources hold, declared in the template metadata for the change review
//! (`tracker-cdk review`): `"tracker:statefulness": {"role": "data" | "compute", "reason": ...}`.
//!
//! The review reads the declaration before its table of stateful resource types: a host whose
//! data lives on a separate, retained volume is declared replaceable compute (replacing it
//! interrupts, it loses nothing), the volume is declared data.

use cdk_from_rust::constructs::Node;
use cdk_from_rust::JsAny;

/// The metadata key (the review's `tracker_review::risk::STATEFULNESS_METADATA`).
pub const METADATA_KEY: &str = "tracker:statefulness";

/// What a resource holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// It holds data: replacing or deleting it loses data.
    Data,
    /// Replaceable compute around data kept elsewhere (named in the reason).
    Compute,
}

/// Declares on the default child (the L1 resource) of `node` what it holds, and why.
pub fn declare(node: Node, role: Holds, reason: &str) {
    let role = match role {
        Holds::Data => "data",
        Holds::Compute => "compute",
    };
    crate::l1(node).add_metadata(
        METADATA_KEY,
        JsAny::from(serde_json::json!({ "role": role, "reason": reason })),
    );
}
