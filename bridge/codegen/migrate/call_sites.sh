#!/bin/bash
# Migrates Rust code written against the old call forms of the bindings (positional required
# struct fields, `None` / `Some(x.into())` for optional trailing arguments) to the call-site rules
# (README "Call-site rules"): `X::new(XRequired { field: .. })`, left-out optionals, `m_with(..)`.
# Compiler-driven: checks, rewrites what rustc reports (E0061), repeats until clean or stuck, then
# prints what is left for a human. usage: bridge/codegen/migrate/call_sites.sh [cargo check args]
# e.g. `bridge/codegen/migrate/call_sites.sh --workspace --all-targets`. Review the diff after.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
diag=$(mktemp)
# migrate.py reads the generated bindings (built into OUT_DIR, not committed): the whole library.
export CDK_FROM_RUST_GENERATED=$(mktemp -d)
trap 'rm -rf "$diag" "$CDK_FROM_RUST_GENERATED"' EXIT
cargo run -q --release -p cdk-from-rust-codegen -- --emit-all "$CDK_FROM_RUST_GENERATED" || exit 1
errors() {
  python3 -c "
import json, sys
for l in open(sys.argv[1]):
    try: d = json.loads(l)
    except Exception: continue
    if d.get('reason') == 'compiler-message' and d['message']['level'] == 'error':
        print(d['message']['rendered'] if len(sys.argv) > 2 else 'E')" "$diag" "$@"
}
for pass in 1 2 3 4 5 6 7 8; do
  cargo check "$@" --message-format json 2>/dev/null > "$diag"
  n=$(errors | wc -l)
  echo "pass $pass: $n errors"
  [ "$n" = 0 ] && exit 0
  python3 "$here/migrate.py" "$diag" | grep -v '^edited'
  files=$(git diff --name-only | grep '\.rs$')
  [ -z "$files" ] && break
  python3 "$here/fixsome.py" $files
  python3 "$here/imports.py" $files
  sed -i -E 's/,,$/,/' $files
  cargo fmt --all
done
echo "left for a human:"
errors --rendered
exit 1
