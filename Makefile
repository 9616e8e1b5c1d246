# Quick start (see README.md):
#   make synth   set up (npm ci) and synthesize every stack into cdk.out/, offline, no AWS account
#   make test    every test: shim (node:test), formatting, clippy, Rust unit/integration/e2e tests

# Offline by default: no version check, no telemetry, no notices.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := 1

.PHONY: setup synth test lint regen verify-bindings

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

setup: node_modules/.package-lock.json

synth: setup
	npx cdk synth --no-notices -q

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: setup lint
	node --test bridge/shim/test/
	cargo test --workspace

# Regenerate the bindings after upgrading aws-cdk-lib, constructs or cdk-nag in package.json.
regen: setup
	cargo run -q --release -p cdk-from-rust-codegen

verify-bindings: setup
	cargo run -q --release -p cdk-from-rust-codegen -- --verify
