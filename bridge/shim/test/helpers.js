// Shared helpers for the shim tests: build programs, run replay.js as a child
// process. (node --test also loads this file as a test file; it defines no tests.)
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

const SHIM = path.join(__dirname, '..', 'replay.js');

/** A call site as the Rust recorder writes it. */
function site(line, file = 'stacks/src/sample.rs', column = 5) {
  return { file, line, column };
}

/** A version 1.0 program from a list of ops (ids are assigned in order). */
function program(ops, extra = {}) {
  return {
    schema: 'cdk-from-rust.program',
    version: '1.0',
    ops: ops.map((op, id) => ({ id, ...op })),
    synth: [0],
    ...extra,
  };
}

/** A fresh, empty directory for CDK_OUTDIR; removed when the test ends. */
function tempOutdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-from-rust-shim-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh, empty directory (e.g. a project without node_modules); removed when the test ends. */
function tempDir(t, prefix = 'cdk-from-rust-dir-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Run the shim with `input` (an object is JSON-encoded, a string is sent as-is) on stdin,
 * stdout and stderr being pipes, in `cwd` (default: this process's). Resolves to
 * { code, stdout, stderr, result } where result is the parsed JSON line; also asserts the
 * protocol: stdout holds exactly one JSON line. With `resultFile`, the shim is told to write
 * the result there (CDK_FROM_RUST_RESULT, as the Rust runner does) and stdout must stay empty.
 */
function runShim(input, { outdir, env = {}, cwd, resultFile } = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.CDK_CONTEXT_JSON;
  delete childEnv.CDK_FROM_RUST_RESULT;
  for (const key of ['CDK_FROM_RUST_NODE_PATH', 'CDK_FROM_RUST_VALIDATION_CACHE',
    'CDK_FROM_RUST_VALIDATION_JOBS', 'CDK_FROM_RUST_TIMINGS']) {
    if (!(key in env)) delete childEnv[key];
  }
  if (outdir) childEnv.CDK_OUTDIR = outdir;
  if (resultFile) childEnv.CDK_FROM_RUST_RESULT = resultFile;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIM], { env: childEnv, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (resultFile) {
        assert.equal(stdout, '', 'with a result file, nothing goes to stdout');
        stdout = fs.readFileSync(resultFile, 'utf8');
      }
      const lines = stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `stdout must be exactly one JSON line, got:\n${stdout}\nstderr:\n${stderr}`);
      resolve({ code, stdout, stderr, result: JSON.parse(lines[0]) });
    });
    child.stdin.end(typeof input === 'string' ? input : JSON.stringify(input));
  });
}

module.exports = { SHIM, site, program, tempOutdir, tempDir, runShim };
