// Reports of any size reach the caller whole: the shim exits only after its result and its
// stderr have been handed to the pipes (process.exit() alone cuts a pipe off at 64 KiB).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { site, program, tempOutdir, tempDir, runShim } = require('./helpers');

const ERRORS = 1500;
const PADDING = 'x'.repeat(2000);

/** A program whose synthesis fails with ERRORS annotations of ~2 KB each (a ~3 MB report). */
function hugeFailure() {
  const ops = [
    { op: 'new', fqn: 'aws-cdk-lib.App', args: [], site: site(1) },
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'Big'], site: site(2) },
  ];
  for (let i = 0; i < ERRORS; i++) {
    const part = ops.length;
    ops.push({ op: 'new', fqn: 'constructs.Construct', args: [{ $ref: 1 }, `Part${i}`], site: site(1000 + i) });
    ops.push({ op: 'static', fqn: 'aws-cdk-lib.Annotations', method: 'of', args: [{ $ref: part }], site: site(1000 + i) });
    ops.push({ op: 'call', target: part + 1, method: 'addError', args: [`problem ${i}: ${PADDING}`], site: site(1000 + i) });
  }
  return program(ops);
}

function assertWholeReport(r) {
  assert.equal(r.code, 4, r.stderr.slice(0, 2000));
  assert.ok(r.stdout.length > 3_000_000, `the report is several MB (${r.stdout.length} bytes)`);
  const { error } = r.result;
  assert.equal(error.kind, 'synthesis');
  assert.equal(error.problems.length, ERRORS);
  error.problems.forEach((p, i) => {
    assert.equal(p.path, `Big/Part${i}`);
    assert.deepEqual(p.site, site(1000 + i), `problem ${i} names its Rust call site`);
    assert.ok(p.message.startsWith(`problem ${i}: `));
  });
}

test('a several-MB synthesis failure reaches stdout whole, through a pipe', async (t) => {
  const r = await runShim(hugeFailure(), { outdir: tempOutdir(t) });
  assertWholeReport(r);
  // The human-readable report on stderr is whole too: its last problem is there.
  assert.match(r.stderr, new RegExp(`Big/Part${ERRORS - 1}: problem ${ERRORS - 1}`));
});

test('with CDK_FROM_RUST_RESULT the report goes to that file, whole, and stderr carries only the libraries', async (t) => {
  const resultFile = path.join(tempDir(t), 'result.json');
  const r = await runShim(hugeFailure(), { outdir: tempOutdir(t), resultFile });
  assertWholeReport(r);
  assert.doesNotMatch(r.stderr, /synthesis failed/, 'the caller renders the report');
});
