# Quick start (see README.md):
#   make synth   set up (npm ci) and synthesize every stack into cdk.out/, offline, no AWS account
#   make test    every test: shim (node:test), formatting, clippy, Rust unit/integration/e2e tests
#                (with the AWS SDK: `--features tracker-cdk/aws`; a plain `cargo build` has none),
#                goldens + cfn-lint + cdk-nag + checkov on the stacks, the review scenarios, the moto deploy loop,
#                the data-plane suite (the rendered Patroni/staging files run on loopback; needs root)

# Offline by default: no version check, no telemetry, no notices.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := 1

.PHONY: setup test-packages synth test lint golden diagrams alarms-table regen verify-bindings verify-features

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# cfn-lint (the CloudFormation resource specification checker) in a project venv, pinned exactly.
# The stamp file names the version, so bumping CFN_LINT_VERSION reinstalls; otherwise a no-op.
CFN_LINT_VERSION := 1.58.0

.venv/.cfn-lint-$(CFN_LINT_VERSION):
	python3 -m venv .venv && .venv/bin/pip install -q cfn-lint==$(CFN_LINT_VERSION)
	rm -f .venv/.cfn-lint-*
	touch $@

# moto's server mode (the AWS API emulator of the deploy-loop test, test/moto/) and boto3, pinned
# exactly, in the same venv; cfn-lint is pinned again so moto's extras cannot move it. Same stamp
# scheme: bumping a version reinstalls.
MOTO_VERSION := 5.2.5
BOTO3_VERSION := 1.44.5
MOTO_STAMP := .venv/.moto-$(MOTO_VERSION)-boto3-$(BOTO3_VERSION)

$(MOTO_STAMP): .venv/.cfn-lint-$(CFN_LINT_VERSION)
	.venv/bin/pip install -q cfn-lint==$(CFN_LINT_VERSION) 'moto[server]==$(MOTO_VERSION)' boto3==$(BOTO3_VERSION)
	rm -f .venv/.moto-*
	touch $@

# checkov (the policy-as-code scanner auditors run on CloudFormation), pinned exactly. It pins its own
# boto3 (1.35.49 for 3.3.30) against moto's, so it gets a venv of its own inside the project venv,
# .venv/checkov; same stamp scheme: bumping CHECKOV_VERSION reinstalls.
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := .venv/.checkov-$(CHECKOV_VERSION)

$(CHECKOV_STAMP):
	rm -rf .venv/checkov
	python3 -m venv .venv/checkov && .venv/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	rm -f .venv/.checkov-*
	touch $@

setup: node_modules/.package-lock.json .venv/.cfn-lint-$(CFN_LINT_VERSION) $(MOTO_STAMP) $(CHECKOV_STAMP)

# Debian packages the tests run (not needed to synthesize): the data-plane suite's real daemons
# (PostgreSQL 15 + PostGIS, Patroni, etcd, pgBackRest, Redis as Valkey's stand-in, stunnel for
# pgBackRest's TLS to the S3 emulator, openssl for test certificates) and shellcheck for the
# scripts the constructs render. Installs only what is missing (as root, or through sudo); no
# `main` cluster is created and nothing is started: the tests start and stop every daemon.
TEST_PACKAGES := postgresql-15 postgresql-15-postgis-3 patroni etcd-server etcd-client pgbackrest \
	redis-server stunnel4 shellcheck openssl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

test-packages:
	@missing=$$(for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) mkdir -p /etc/postgresql-common; \
	  grep -qs '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf || \
	    echo 'create_main_cluster = false' | $(SUDO) tee -a /etc/postgresql-common/createcluster.conf >/dev/null; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

synth: setup
	npx cdk synth --no-notices -q

# The generated per-module features of cdk-from-rust (every aws-cdk-lib submodule, ~670): each crate
# here enables the modules it uses, so `lint` compiles a module with few dependencies (aws_wafv2) and
# one with many (aws_ecs) alone; `make verify-features` compiles a sample of modules alone (the typed
# core plus a few others), `make verify-features SAMPLE=all` every one (hours on 2 cores).
FEATURES := $(shell sed -n '/BEGIN GENERATED FEATURES/,/END GENERATED FEATURES/s/^\([a-z0-9_]*\) = .*/\1/p' bridge/Cargo.toml | grep -v '^all$$')
TYPED_CORE := $(shell sed -n '/^pub const TYPED_AWS_CDK_LIB_MODULES/,/^];/s/^ *"\([a-z0-9_]*\)",/\1/p' bridge/codegen/src/lib.rs)
SAMPLE ?= $(TYPED_CORE) cdk_nag aws_lambda aws_rds aws_ecs_patterns aws_ecs_mixins interfaces_aws_s3 aws_quicksight
VERIFY_FEATURES := $(if $(filter all,$(SAMPLE)),$(FEATURES),$(SAMPLE))

# Building cdk-from-rust generates its bindings from node_modules' assemblies
# (bridge/core/build.rs). The bindings are the expensive crates (cdk-from-rust-core and the shards
# bridge/shards/*: about 40 s of CPU a build), so every command here and in `test` that compiles
# them with the tracker's modules shares one feature set: the workspace's (tracker-cdk's, with or
# without `aws`: bridge/codegen/tests/build_graph.rs). The targets of cdk-from-rust and its core
# (unit tests, compile-fail cases, doctests, example) need only the core modules, so they are
# linted and tested apart, without features, instead of compiling the tracker's modules again in
# test mode (the shards have no test targets); `cargo check` with aws_wafv2, then aws_ecs,
# compiles a module alone. The tests build with the dev profile (`--profile dev`; the test profile
# only inherits it), so the binary the tests run through cargo (`cargo run -p tracker-cdk`,
# cdk.json's app, in the deploy loop) is the one already built, instead of the bindings,
# constructs and stacks compiled a second time.
lint: node_modules/.package-lock.json
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude cdk-from-rust --exclude cdk-from-rust-core --all-targets --features tracker-cdk/aws,tracker-cdk/png -- -D warnings
	cargo clippy -p cdk-from-rust -p cdk-from-rust-core --all-targets -- -D warnings
	cargo check -q -p tracker-review -p tracker-release
	cargo check -q -p cdk-from-rust --features aws_wafv2
	cargo check -q -p cdk-from-rust --features aws_ecs

verify-features: node_modules/.package-lock.json
	for f in $(VERIFY_FEATURES); do echo "cdk-from-rust --features $$f"; cargo check -q -p cdk-from-rust --features $$f || exit 1; done

# No incremental caches in `make test` (nor in its `lint`): one run of the whole suite never reuses
# them, and they were a third of `target/` afterwards (1.1 GB). Plain `cargo build`/`cargo test`
# keep them for the edit-compile loop.
test: export CARGO_INCREMENTAL := 0
test: setup test-packages lint
	node --test bridge/shim/test/
	cargo test --workspace --exclude cdk-from-rust --exclude cdk-from-rust-core --features tracker-cdk/aws --profile dev
	cargo test -p cdk-from-rust -p cdk-from-rust-core

# Rewrite stacks/golden/*.template.json after an intended change; review `git diff stacks/golden`.
golden: setup
	UPDATE_GOLDEN=1 cargo test -q -p tracker-stacks --test tracker golden_templates_match

# The README's pictures, docs/diagrams/{staging,production}.{svg,png}, from the stacks' model
# (stacks/src/topology.rs) with cdk.json's context; `the_committed_pictures_are_current` fails when
# the SVGs are stale. Pure Rust (layout-rs, resvg): no system package.
diagrams: node_modules/.package-lock.json
	cargo build -q -p tracker-cdk --features png
	mkdir -p docs/diagrams
	for env in staging production; do \
	  target/debug/tracker-cdk diagram $$env -o docs/diagrams/$$env.svg && \
	  target/debug/tracker-cdk diagram $$env -o docs/diagrams/$$env.png || exit 1; \
	done

# The README's alarm tables, from the golden templates (paste under Operations > Alarms).
alarms-table:
	python3 stacks/tools/alarms-table.py stacks/golden

# Regenerate the feature table of bridge/Cargo.toml after upgrading aws-cdk-lib, constructs or
# cdk-nag in package.json, or after changing SHARDS in bridge/codegen/src/lib.rs (also writes
# bridge/core/Cargo.toml's table and bridge/shards/; the bindings themselves are generated by
# bridge/core/build.rs).
regen: setup
	cargo run -q --release -p cdk-from-rust-codegen

verify-bindings: setup
	cargo run -q --release -p cdk-from-rust-codegen -- --verify
