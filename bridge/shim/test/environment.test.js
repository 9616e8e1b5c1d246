// The environment the shim runs in: packages resolved from the working directory (the CDK
// app's project), and one clear refusal (exit 5) when node_modules is missing, incomplete, or
// holds other versions than the bindings were generated from.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { site, program, tempOutdir, tempDir, runShim } = require('./helpers');

const REPO = path.join(__dirname, '..', '..', '..'); // the repository root, which has node_modules
const PACKAGES = { 'aws-cdk-lib': '2.276.0', constructs: '10.8.1' };

/** A replay-only program (no synth) of `n` ops that all need aws-cdk-lib. */
function manyOps(n, packages = PACKAGES) {
  const ops = [{ op: 'new', fqn: 'aws-cdk-lib.App', args: [], site: site(1) },
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'S'], site: site(2) }];
  for (let i = 0; i < n; i++) {
    ops.push({ op: 'new', fqn: 'aws-cdk-lib.aws_sqs.Queue', args: [{ $ref: 1 }, `Q${i}`], site: site(10 + i) });
  }
  const { synth, ...noSynth } = program(ops, { packages });
  return noSynth;
}

/** A project directory whose node_modules holds these fake packages ({name: {version, main}}). */
function fakeProject(t, packages) {
  const dir = tempDir(t, 'cdk-from-rust-project-');
  for (const [name, { version, main }] of Object.entries(packages)) {
    const pkg = path.join(dir, 'node_modules', name);
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), main);
  }
  return dir;
}

test('packages are resolved from the working directory, also from a subdirectory of the project', async (t) => {
  const r = await runShim(manyOps(1), { outdir: tempOutdir(t), cwd: path.join(REPO, 'bridge', 'shim') });
  assert.equal(r.code, 0, r.stderr);
});

test('a missing node_modules is one message that says to run npm ci, not one per operation', async (t) => {
  const empty = tempDir(t);
  const r = await runShim(manyOps(200), { outdir: tempOutdir(t), cwd: empty });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.result.error.kind, 'missing-packages');
  assert.equal(r.result.error.problems.length, 1, JSON.stringify(r.result.error.problems));
  assert.match(r.result.error.message, /aws-cdk-lib is not installed/);
  assert.match(r.result.error.message, /npm ci/);
  assert.match(r.result.error.message, /aws-cdk-lib@2\.276\.0/);
  assert.ok(r.result.error.message.includes(fs.realpathSync(empty)) || r.result.error.message.includes(empty));
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr:\n${r.stderr}`);
});

test('an incomplete node_modules names the package that does not load and says to run npm ci', async (t) => {
  // aws-cdk-lib is there, but what it requires is not.
  const project = fakeProject(t, {
    'aws-cdk-lib': { version: '2.276.0', main: "require('constructs-that-npm-ci-would-install');" },
  });
  const r = await runShim(manyOps(50), { outdir: tempOutdir(t), cwd: project });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.result.error.kind, 'missing-packages');
  assert.match(r.result.error.message, /aws-cdk-lib \(.*node_modules\/aws-cdk-lib\) is incomplete/);
  assert.match(r.result.error.message, /constructs-that-npm-ci-would-install/);
  assert.match(r.result.error.message, /npm ci/);
  assert.equal(r.result.error.problems.length, 1);
});

test('another aws-cdk-lib version than the bindings were generated from is refused, naming both', async (t) => {
  const project = fakeProject(t, { 'aws-cdk-lib': { version: '2.100.0', main: 'module.exports = {};' } });
  const r = await runShim(manyOps(50), { outdir: tempOutdir(t), cwd: project });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.result.error.kind, 'package-versions');
  assert.match(r.result.error.message, /aws-cdk-lib 2\.100\.0 is installed/);
  assert.match(r.result.error.message, /generated from 2\.276\.0/);
  assert.match(r.result.error.message, /npm install --save-exact aws-cdk-lib@2\.276\.0/);
});

test('a program without "packages" (hand-written) is not version-checked', async (t) => {
  const r = await runShim(manyOps(1, undefined), { outdir: tempOutdir(t) });
  assert.equal(r.code, 0, r.stderr);
});
