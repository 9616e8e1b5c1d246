#!/usr/bin/env bash
# Regenerates the bindings (bridge/src/generated, bridge/Cargo.toml features) from node_modules.
set -euo pipefail
cd "$(dirname "$0")"
cargo run -q --release -p cdk-from-rust-codegen -- "$@"
