// Programs the shim must refuse before replaying anything (exit 2).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const { site, program, tempOutdir, runShim } = require('./helpers');

const APP = { op: 'new', fqn: 'aws-cdk-lib.App', args: [], site: site(1) };

test('a newer major version is refused with both versions named', async (t) => {
  const outdir = tempOutdir(t);
  const r = await runShim({ ...program([APP]), version: '2.0' }, { outdir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /version 1\.x/);
  assert.match(r.stderr, /version 2\.0/);
  assert.match(r.stderr, /Upgrade the shim/);
  assert.equal(r.result.ok, false);
  assert.equal(r.result.error.kind, 'unsupported-version');
  assert.deepEqual(fs.readdirSync(outdir), [], 'nothing may be written to the outdir');
});

test('any 1.x minor version is accepted', async (t) => {
  // No "synth": replay only, so this stays fast.
  const { synth, ...noSynth } = program([APP]);
  const r = await runShim({ ...noSynth, version: '1.7' }, { outdir: tempOutdir(t) });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.result, { ok: true, synthesized: [] });
});

test('an unknown schema name is refused', async (t) => {
  const outdir = tempOutdir(t);
  const r = await runShim({ ...program([APP]), schema: 'something-else' }, { outdir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /something-else/);
  assert.match(r.stderr, /cdk-from-rust\.program/);
  assert.equal(r.result.error.kind, 'malformed');
  assert.deepEqual(fs.readdirSync(outdir), []);
});

test('input that is not JSON is refused', async (t) => {
  const r = await runShim('this is not json', { outdir: tempOutdir(t) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /not valid JSON/);
  assert.equal(r.result.error.kind, 'malformed');
});

test('every structural problem is reported at once, before anything is replayed', async (t) => {
  const outdir = tempOutdir(t);
  const prog = program([
    APP,
    // $ref to a later op
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'S', { x: { $ref: 3 } }], site: site(2) },
    // unknown op kind
    { op: 'teleport', site: site(3) },
    // missing method, unknown enum member, fqn that does not resolve
    { op: 'call', target: 1, args: [{ $enum: 'aws-cdk-lib.RemovalPolicy', member: 'KEEP_FOREVER' }], site: site(4) },
    { op: 'new', fqn: 'aws-cdk-lib.aws_nowhere.Thing', args: [], site: site(5) },
  ]);
  prog.ops[4].id = 7; // ids must count up in order
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 2, r.stderr);
  const { error } = r.result;
  assert.equal(error.kind, 'malformed');
  const messages = error.problems.map((p) => p.message).join('\n');
  assert.ok(error.problems.length >= 5, messages);
  assert.match(messages, /\$ref 3 is not the id of an earlier op/);
  assert.match(messages, /unknown op kind "teleport"/);
  assert.match(messages, /missing "method"/);
  assert.match(messages, /no member "KEEP_FOREVER"/);
  assert.match(messages, /aws_nowhere/);
  assert.match(messages, /id must be 4/);
  // Problems carry the op id and the recorded site; stderr lists them all.
  const teleport = error.problems.find((p) => /teleport/.test(p.message));
  assert.equal(teleport.op, 2);
  assert.deepEqual(teleport.site, site(3));
  assert.match(r.stderr, /teleport.*stacks\/src\/sample\.rs:3:5/);
  assert.match(r.stderr, /KEEP_FOREVER/);
  assert.deepEqual(fs.readdirSync(outdir), []);
});

test('ops must be an array', async (t) => {
  const r = await runShim({ schema: 'cdk-from-rust.program', version: '1.0', ops: {} }, { outdir: tempOutdir(t) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.result.error.problems[0].message, /"ops" must be an array/);
});

test('CDK_FROM_RUST_NODE_PATH decides where packages are loaded from', async (t) => {
  const { synth, ...noSynth } = program([APP]);
  const empty = fs.mkdtempSync(`${os.tmpdir()}/no-node-modules-`);
  t.after(() => fs.rmSync(empty, { recursive: true, force: true }));
  const missing = await runShim(noSynth, { outdir: tempOutdir(t), env: { CDK_FROM_RUST_NODE_PATH: empty } });
  assert.equal(missing.code, 5, missing.stderr);
  assert.equal(missing.result.error.kind, 'missing-packages');
  assert.match(missing.stderr, /aws-cdk-lib is not installed/);

  const repo = `${__dirname}/../../..`; // the repository root, which has node_modules
  const found = await runShim(noSynth, { outdir: tempOutdir(t), env: { CDK_FROM_RUST_NODE_PATH: repo } });
  assert.equal(found.code, 0, found.stderr);
});
