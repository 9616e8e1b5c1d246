//! The tracker stacks.
