#!/usr/bin/env node
// Replays a cdk-from-rust Program (JSON, on stdin or from a file named as the
// first argument) against the real aws-cdk-lib and synthesizes the listed Apps.
//
// The shim knows nothing about particular constructs: it resolves jsii-style
// fqns ("<npm package>.<dotted.path>") by require + property access, replays the
// recorded operations in order, and reports failures in terms of the Rust call
// sites recorded in the program. Protocol, exit codes and env vars: README.md.
'use strict';

// The result is one JSON line: written to the file named by CDK_FROM_RUST_RESULT
// (how the Rust runner calls the shim), else to stdout. Anything else that would
// go to stdout (console.log from libraries, stray writes) is diverted to stderr,
// before any library is loaded.
const writeStdout = process.stdout.write.bind(process.stdout);
const writeStderr = process.stderr.write.bind(process.stderr);
process.stdout.write = writeStderr;
const RESULT_FILE = process.env.CDK_FROM_RUST_RESULT || null;

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const threads = require('worker_threads');

const SCHEMA = 'cdk-from-rust.program';
const SUPPORTED_MAJOR = 1;
const OP_KINDS = ['new', 'call', 'get', 'static', 'static-get', 'length', 'defined'];
// Fields each op kind requires, with their JSON types ('ref' = id of an earlier op).
const OP_FIELDS = {
  'new': { fqn: 'string', args: 'array' },
  'call': { target: 'ref', method: 'string', args: 'array' },
  'get': { target: 'ref', property: 'string' },
  'static': { fqn: 'string', method: 'string', args: 'array' },
  'static-get': { fqn: 'string', property: 'string' },
  'length': { target: 'ref', length: 'count' },
  'defined': { target: 'ref', message: 'string' },
};
const EXIT = { ok: 0, refused: 2, operation: 3, synthesis: 4, environment: 5, internal: 70 };
// Failure kinds that mean the project's node_modules is not what the program needs.
const ENVIRONMENT_KINDS = ['missing-packages', 'package-versions'];

/** A failure to report: kind (protocol error kind), one-line summary, problem list. */
class Failure extends Error {
  constructor(kind, summary, problems, { details = [], headline = summary } = {}) {
    super(summary);
    this.kind = kind;
    this.problems = problems; // [{message, op, site, path}]
    this.headline = headline; // first line on stderr
    this.details = details; // further human-readable lines for stderr
  }
}

// ---------------------------------------------------------------------------
// Module and fqn resolution
// ---------------------------------------------------------------------------

const moduleCache = new Map();

/**
 * Where npm packages are resolved from: CDK_FROM_RUST_NODE_PATH if set, else the working
 * directory (the CDK app's project: the CLI runs the app there). Node looks in
 * `<dir>/node_modules` and in every parent's, so any subdirectory of the project works too.
 */
function packageBase() {
  return path.resolve(process.env.CDK_FROM_RUST_NODE_PATH || process.cwd());
}

/** require() an npm package, resolved from packageBase(). */
function loadModule(name) {
  if (!moduleCache.has(name)) {
    moduleCache.set(name, require(require.resolve(name, { paths: [packageBase()] })));
  }
  return moduleCache.get(name);
}

/** Split "<assembly>.<a.b.c>"; the assembly name ends at the first '.' after the last '/'. */
function splitFqn(fqn) {
  const dot = fqn.indexOf('.', fqn.lastIndexOf('/') + 1);
  if (dot <= 0 || dot === fqn.length - 1) return null;
  return { assembly: fqn.slice(0, dot), path: fqn.slice(dot + 1).split('.') };
}

/** Resolve an fqn to a value; throws an Error with a one-line message on failure. */
function resolveFqn(fqn) {
  const parts = splitFqn(fqn);
  if (!parts || parts.path.some((p) => p === '')) {
    throw new Error(`fqn "${fqn}" is not of the form <package>.<Name>`);
  }
  let value;
  try {
    value = loadModule(parts.assembly);
  } catch (err) {
    throw new Error(`fqn "${fqn}": cannot load package "${parts.assembly}": ${firstLine(err)}`);
  }
  let walked = parts.assembly;
  for (const segment of parts.path) {
    if (value === null || value === undefined || value[segment] === undefined) {
      throw new Error(`fqn "${fqn}" does not resolve: ${walked} has no member "${segment}"`);
    }
    value = value[segment];
    walked += '.' + segment;
  }
  return value;
}

// ---------------------------------------------------------------------------
// The environment: are the packages the program uses installed, in the versions
// the bindings were generated from? (Checked once, before the per-op checks, so a
// missing node_modules is one message, not one per operation.)
// ---------------------------------------------------------------------------

/** The npm packages named by the program's fqns (ops and enum values), in first-use order. */
function packagesUsed(program) {
  const used = new Set();
  const add = (fqn) => {
    const parts = typeof fqn === 'string' ? splitFqn(fqn) : null;
    if (parts) used.add(parts.assembly);
  };
  const walk = (value) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isPlainObject(value) || '$literal' in value) return;
    if ('$enum' in value) add(value.$enum);
    Object.values(value).forEach(walk);
  };
  for (const op of Array.isArray(program.ops) ? program.ops : []) {
    if (!isPlainObject(op)) continue;
    add(op.fqn);
    walk(op.args);
  }
  return [...used];
}

/**
 * Where a package is installed, as Node finds it (`<dir>/node_modules/<name>` for `base` and
 * each parent), with the version its package.json names; null if no such directory exists.
 */
function installedPackage(name, base) {
  for (let dir = base; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(candidate)) {
      try {
        const manifest = JSON.parse(fs.readFileSync(path.join(candidate, 'package.json'), 'utf8'));
        return { dir: candidate, version: String(manifest.version), error: null };
      } catch (err) {
        return { dir: candidate, version: null, error: err };
      }
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** Refuses to replay unless every package the program uses loads, in the expected version. */
function checkEnvironment(program) {
  const base = packageBase();
  const expected = isPlainObject(program.packages) ? program.packages : {};
  const missing = [];
  const broken = [];
  const mismatched = [];
  for (const name of packagesUsed(program)) {
    const found = installedPackage(name, base);
    if (found === null) {
      missing.push(name);
      continue;
    }
    const want = expected[name];
    if (!found.error && typeof want === 'string' && found.version !== want) {
      mismatched.push({ name, want, found });
      continue;
    }
    try {
      if (found.error) throw found.error;
      loadModule(name);
    } catch (err) {
      broken.push({ name, dir: found.dir, err });
    }
  }
  const versionOf = (name) => (typeof expected[name] === 'string' ? `${name}@${expected[name]}` : name);
  if (missing.length > 0 || broken.length > 0) {
    const problems = [];
    const parts = [];
    if (missing.length > 0) {
      const names = missing.join(', ');
      parts.push(`${names} ${missing.length === 1 ? 'is' : 'are'} not installed: no node_modules `
        + `from ${base} upwards has ${missing.length === 1 ? 'it' : 'them'}`);
      for (const name of missing) {
        problems.push({ message: `${name} is not installed (looked from ${base} upwards)`, op: null, site: null, path: null });
      }
    }
    for (const b of broken) {
      const text = `${b.name}${b.dir ? ` (${b.dir})` : ''} is incomplete: ${firstLine(errorText(b.err))}`;
      parts.push(text);
      problems.push({ message: text, op: null, site: null, path: null });
    }
    const message = `${parts.join('; ')}. Run \`npm ci\` in the project directory (the one with `
      + `package.json and package-lock.json) and run the app from there; the project's package.json `
      + `must list ${[...missing, ...broken.map((b) => b.name)].map(versionOf).join(', ')}`;
    throw new Failure('missing-packages', message, problems);
  }
  if (mismatched.length > 0) {
    const list = mismatched.map((m) => `${m.name} ${m.found.version} is installed (${m.found.dir})`
      + ` but the bindings were generated from ${m.want}`);
    const message = `${list.join('; ')}. Install the versions the bindings expect: `
      + `\`npm install --save-exact ${mismatched.map((m) => `${m.name}@${m.want}`).join(' ')}\``
      + ' (or use a cdk-from-rust generated from the installed versions)';
    throw new Failure('package-versions', message,
      list.map((text) => ({ message: text, op: null, site: null, path: null })));
  }
}

// ---------------------------------------------------------------------------
// Reading and validating the program (nothing is replayed before this passes)
// ---------------------------------------------------------------------------

function parseProgram(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = `the program is not valid JSON: ${err.message.replace(/\s*\n\s*/g, ' ')}`;
    throw new Failure('malformed', message, [{ message, op: null, site: null, path: null }]);
  }
}

/** Check schema name and version; refuses anything but cdk-from-rust.program 1.x. */
function checkVersion(program) {
  const refuse = (kind, message) => {
    throw new Failure(kind, message, [{ message, op: null, site: null, path: null }]);
  };
  if (!isPlainObject(program)) refuse('malformed', 'the program must be a JSON object');
  if (program.schema !== SCHEMA) {
    refuse('malformed', `this shim reads "${SCHEMA}" documents; the input has schema ${JSON.stringify(program.schema)}`);
  }
  const m = typeof program.version === 'string' && /^(\d+)\.(\d+)$/.exec(program.version);
  if (!m) refuse('malformed', `version must be a "MAJOR.MINOR" string; got ${JSON.stringify(program.version)}`);
  const major = Number(m[1]);
  if (major !== SUPPORTED_MAJOR) {
    const who = major > SUPPORTED_MAJOR
      ? 'written by a newer cdk-from-rust). Upgrade the shim (bridge/shim) to match.'
      : 'written by an older cdk-from-rust). Re-record it with the current cdk-from-rust.';
    refuse('unsupported-version', `this shim reads ${SCHEMA} version ${SUPPORTED_MAJOR}.x; `
      + `the program is version ${program.version} (${who}`);
  }
}

/** Validate the whole structure; throws one Failure listing every problem found. */
function validateProgram(program) {
  const problems = [];
  const problem = (op, site, message) => problems.push({ message, op, site: site || null, path: null });
  if (!Array.isArray(program.ops)) {
    problem(null, null, '"ops" must be an array');
  } else {
    program.ops.forEach((op, index) => validateOp(op, index, problem));
  }
  if (program.synth !== undefined) {
    const count = Array.isArray(program.ops) ? program.ops.length : 0;
    if (!Array.isArray(program.synth)) {
      problem(null, null, '"synth" must be an array of op ids');
    } else {
      program.synth.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= count) {
          problem(null, null, `synth[${i}] = ${JSON.stringify(id)} is not the id of an op`);
        }
      });
    }
  }
  if (problems.length > 0) {
    const n = problems.length;
    throw new Failure('malformed', `the program is malformed (${n} problem${n === 1 ? '' : 's'})`, problems);
  }
}

function validateOp(op, index, problem) {
  const where = `op at index ${index}`;
  if (!isPlainObject(op)) return problem(null, null, `${where} is not an object`);
  const site = validSite(op.site) ? op.site : null;
  const id = Number.isInteger(op.id) ? op.id : null;
  const label = id === null ? where : `op #${id} (index ${index})`;
  const report = (message) => problem(id, site, `${label}: ${message}`);

  if (op.id === undefined) report('missing "id"');
  else if (op.id !== index) report(`id must be ${index} (ids count up from 0 in order); got ${JSON.stringify(op.id)}`);
  if (op.site !== undefined && !validSite(op.site)) report('"site" must be {"file": string, "line": int, "column": int}');
  if (op.op === undefined) return report('missing "op"');
  if (!OP_KINDS.includes(op.op)) return report(`unknown op kind ${JSON.stringify(op.op)} (known: ${OP_KINDS.join(', ')})`);

  for (const [field, type] of Object.entries(OP_FIELDS[op.op])) {
    const value = op[field];
    if (value === undefined) report(`"${op.op}" op is missing "${field}"`);
    else if (type === 'array' && !Array.isArray(value)) report(`"${field}" must be an array`);
    else if (type === 'string' && typeof value !== 'string') report(`"${field}" must be a string`);
    else if (type === 'count' && !(Number.isInteger(value) && value >= 0)) report(`"${field}" must be a non-negative integer`);
    else if (type === 'ref' && !(Number.isInteger(value) && value >= 0 && value < index)) {
      report(`"${field}" ${JSON.stringify(value)} is not the id of an earlier op`);
    }
  }
  if (typeof op.fqn === 'string' && OP_FIELDS[op.op].fqn) {
    try {
      const resolved = resolveFqn(op.fqn);
      if (op.op === 'new' && typeof resolved !== 'function') report(`${op.fqn} is not a class`);
      if (op.op === 'static' && typeof op.method === 'string' && typeof resolved[op.method] !== 'function') {
        report(`${op.fqn} has no static method "${op.method}"`);
      }
      if (op.op === 'static-get' && typeof op.property === 'string' && !(op.property in Object(resolved))) {
        report(`${op.fqn} has no static property "${op.property}"`);
      }
    } catch (err) {
      report(err.message);
    }
  }
  if (Array.isArray(op.args)) op.args.forEach((arg, i) => validateValue(arg, index, `args[${i}]`, report));
}

/** Check an encoded argument value: $ref targets, $enum members, unknown $-forms. */
function validateValue(value, index, where, report) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => validateValue(v, index, `${where}[${i}]`, report));
    return;
  }
  if (!isPlainObject(value)) return;
  const keys = Object.keys(value);
  if ('$literal' in value) {
    if (keys.length !== 1) report(`${where}: {"$literal": ...} must have no other keys`);
  } else if ('$undefined' in value) {
    if (keys.length !== 1 || value.$undefined !== true) report(`${where}: undefined must be exactly {"$undefined": true}`);
  } else if ('$ref' in value) {
    if (keys.length !== 1) report(`${where}: {"$ref": n} must have no other keys`);
    if (!(Number.isInteger(value.$ref) && value.$ref >= 0 && value.$ref < index)) {
      report(`${where}: $ref ${JSON.stringify(value.$ref)} is not the id of an earlier op`);
    }
  } else if ('$enum' in value) {
    if (keys.length !== 2 || typeof value.$enum !== 'string' || typeof value.member !== 'string') {
      report(`${where}: an enum must be exactly {"$enum": "<fqn>", "member": "<NAME>"}`);
      return;
    }
    try {
      if (resolveFqn(value.$enum)[value.member] === undefined) {
        report(`${where}: enum ${value.$enum} has no member "${value.member}"`);
      }
    } catch (err) {
      report(`${where}: ${err.message}`);
    }
  } else if (keys.length === 1 && keys[0].startsWith('$')) {
    report(`${where}: unknown special form "${keys[0]}" (wrap arbitrary JSON in {"$literal": ...})`);
  } else {
    for (const k of keys) validateValue(value[k], index, `${where}.${k}`, report);
  }
}

// ---------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------

/** Decode an (already validated) argument value into a JavaScript value. */
function decode(value, results) {
  if (Array.isArray(value)) return value.map((v) => decode(v, results));
  if (!isPlainObject(value)) return value;
  if ('$literal' in value) return value.$literal;
  if ('$undefined' in value) return undefined;
  if ('$ref' in value) return results[value.$ref];
  if ('$enum' in value) return resolveFqn(value.$enum)[value.member];
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = decode(v, results);
  return out;
}

/** Runs the ops; returns results and the construct-path -> creating-op map. */
function replay(program) {
  const results = [];
  const creators = new Map(); // construct path -> id of the first op that produced it
  for (const op of program.ops) {
    let args = [];
    try {
      args = (op.args || []).map((a) => decode(a, results));
      setHostStackTrace(op, results);
      results[op.id] = execute(op, args, results, program.ops);
    } catch (err) {
      throw operationFailure(program, op, args, results, err);
    } finally {
      setHostStackTrace(null);
    }
    // A `get` only reaches constructs that already exist, so it never "creates" one.
    const node = constructNode(results[op.id]);
    if (node && op.op !== 'get' && op.op !== 'static-get' && !creators.has(node.path)) {
      creators.set(node.path, op.id);
    }
  }
  return { results, creators };
}

/**
 * aws-cdk-lib records where each construct was created (shown in its validation reports and
 * construct metadata). It honours the jsii host-runtime convention: frames from the host's
 * directory are skipped, and the host's own stack trace is appended. Declaring the shim as
 * the "host" and the Rust call site as the host's stack makes those reports point at the
 * Rust source instead of this file.
 */
global[Symbol.for('jsii.context.hostDirName')] = __dirname;
function setHostStackTrace(op, results) {
  const key = Symbol.for('jsii.context.hostStackTrace');
  if (op && validSite(op.site)) {
    // The first entry stands for the host's own call into the runtime; aws-cdk-lib drops it.
    global[key] = [['cdk-from-rust', 0, 0, ''], [op.site.file, op.site.line, op.site.column, describeOp(op, results)]];
  } else {
    delete global[key];
  }
}

function execute(op, args, results, ops) {
  switch (op.op) {
    case 'new': return new (resolveFqn(op.fqn))(...args);
    case 'static': return resolveFqn(op.fqn)[op.method](...args);
    case 'static-get': return resolveFqn(op.fqn)[op.property];
    case 'call': {
      const target = targetOf(op, results, ops);
      if (typeof target[op.method] !== 'function') {
        throw new Error(`${describeValue(target)} has no method "${op.method}"`);
      }
      return target[op.method](...args);
    }
    case 'get': {
      const target = targetOf(op, results, ops);
      // JsArray::at: an index past the end is an error here, at the Rust line that read it,
      // not an `undefined` that fails some later operation.
      if (Array.isArray(target) && /^(0|[1-9][0-9]*)$/.test(op.property)
        && Number(op.property) >= target.length) {
        throw new Error(`index ${op.property} is out of range: the list has ${target.length} element${target.length === 1 ? '' : 's'}`);
      }
      return target[op.property];
    }
    case 'length': {
      // JsArray::expect_len: the Rust code iterates `length` elements; any other count fails
      // here, at the Rust line that said how many it expects.
      const target = targetOf(op, results, ops);
      if (!Array.isArray(target)) throw new Error(`${describeValue(target)} is not a list`);
      if (target.length !== op.length) {
        throw new Error(`the list has ${target.length} element${target.length === 1 ? '' : 's'}, `
          + `but the Rust code expects ${op.length} (expect_len)`);
      }
      return target;
    }
    case 'defined': {
      // JsOptional::expect: an optional result the Rust code relies on; nothing there fails
      // here, at the Rust line that said why it must exist.
      const value = results[op.target];
      if (value === null || value === undefined) {
        throw new Error(`${resultOf(op.target, ops, results)}, is ${value}: ${op.message}`);
      }
      return value;
    }
    default: throw new Error(`unknown op kind ${op.op}`); // unreachable after validation
  }
}

/** `the result of #3 (get defaultCloudMapNamespace of #2 ...), recorded at src/x.rs:4:5` */
function resultOf(id, ops, results) {
  const op = ops && ops[id];
  if (!op) return `the result of operation #${id}`;
  return `the result of operation #${id} (${describeOp(op, results)}), recorded at ${formatSite(op.site)}`;
}

function targetOf(op, results, ops) {
  const target = results[op.target];
  if (target === null || target === undefined) {
    throw new Error(`its target, ${resultOf(op.target, ops, results)}, is ${target}`
      + ' (an optional result: check it with JsOptional::expect where it is read)');
  }
  return target;
}

function operationFailure(program, op, args, results, err) {
  // Construct path: the error's own (aws-cdk-lib construct errors carry one), else the
  // path the new construct would have had, else the target construct's path.
  let cpath = typeof err?.constructPath === 'string' ? err.constructPath : null;
  if (cpath === null && op.op === 'new' && constructNode(args[0]) && typeof args[1] === 'string') {
    const scopePath = constructNode(args[0]).path;
    cpath = scopePath ? `${scopePath}/${args[1]}` : args[1];
  }
  if (cpath === null && (op.op === 'call' || op.op === 'get')) {
    const node = constructNode(results[op.target]);
    if (node) cpath = node.path;
  }
  const header = `operation #${op.id} (${describeOp(op, results)}) recorded at ${formatSite(op.site)} failed`;
  const says = errorText(err);
  const details = [];
  if (cpath !== null) details.push(`construct path: ${cpath || '(the app root)'}`);
  details.push(`aws-cdk-lib says: ${indentContinuation(says, '    ')}`);
  return new Failure('operation', `${header}: ${firstLine(says)}`,
    [{ message: says, op: op.id, site: op.site || null, path: cpath }], { details, headline: header });
}

// ---------------------------------------------------------------------------
// Synthesis
// ---------------------------------------------------------------------------

/** Synthesize every App listed in program.synth; collects all errors of all apps. */
function synthesize(program, results, creators) {
  const synthesized = [];
  const problems = [];
  const seen = new Set();
  for (const appId of program.synth || []) {
    if (seen.has(appId)) continue;
    seen.add(appId);
    const app = results[appId];
    if (!app || typeof app.synth !== 'function') {
      const op = program.ops[appId];
      throw new Failure('malformed', `synth lists operation #${appId}, which is not an App`, [{
        message: `synth lists operation #${appId} (${describeValue(app)}), which is not an App`,
        op: appId, site: op.site || null, path: null,
      }]);
    }
    const errors = []; // {path, message}
    let assembly = null;
    const validationBefore = timings.validation_ms;
    const started = now();
    try {
      assembly = app.synth();
    } catch (err) {
      errors.push(...errorsFromSynthThrow(err, app.outdir));
    } finally {
      timings.synth_ms += now() - started - (timings.validation_ms - validationBefore);
    }
    if (assembly) {
      // Synthesis succeeded, but error annotations (Annotations.of(x).addError) only
      // show up as error-level messages in the assembly; they fail synthesis too.
      const stacks = assembly.stacksRecursively || assembly.stacks;
      for (const stack of stacks) {
        for (const m of stack.messages || []) {
          if (m.level === 'error') {
            errors.push({ path: String(m.id || '').replace(/^\//, ''), message: String(m.entry?.data) });
          }
        }
      }
      if (errors.length === 0) {
        synthesized.push({ app: appId, outdir: assembly.directory, stacks: stacks.map((s) => s.stackName) });
      }
    }
    for (const e of errors) {
      const op = e.path === null ? null : nearestCreator(e.path, creators);
      problems.push({
        message: e.message,
        op,
        site: op === null ? null : program.ops[op].site || null,
        path: e.path,
      });
    }
  }
  if (problems.length > 0) {
    const n = problems.length;
    const details = [];
    for (const p of problems) {
      details.push(`- ${p.path === null ? '(no construct path)' : p.path || '(the app root)'}: `
        + indentContinuation(p.message, '    '));
      if (p.op !== null) {
        details.push(`    construct created by operation #${p.op} (${describeOp(program.ops[p.op], results)})`
          + ` recorded at ${formatSite(p.site)}`);
      }
    }
    throw new Failure('synthesis', `synthesis failed with ${n} error${n === 1 ? '' : 's'}`, problems, { details });
  }
  return synthesized;
}

/**
 * Turn an error thrown by app.synth() into [{path, message}]. aws-cdk-lib 2.276 throws:
 *  - construct validation: "Validation failed with the following errors:\n  [path] message" lines;
 *  - validation plugins / template validation: "Validation failed. A copy of this report can be
 *    found in: <outdir>/validation-report.json" (violations with construct paths in the report);
 *  - other construct errors carry `constructPath`.
 */
function errorsFromSynthThrow(err, outdir) {
  const message = errorText(err);
  const bracketed = [];
  for (const line of String(err?.message ?? '').split('\n')) {
    const m = /^\s*\[([^\]]*)\]\s+(.*)$/.exec(line);
    if (m) bracketed.push({ path: m[1], message: m[2] });
  }
  if (bracketed.length > 0) return bracketed;
  if (/validation-report\.json/.test(message) && outdir) {
    const fromReport = violationsFromReport(path.join(outdir, 'validation-report.json'));
    if (fromReport.length > 0) return fromReport;
  }
  const cpath = typeof err?.constructPath === 'string' ? err.constructPath : null;
  return [{ path: cpath, message }];
}

/** Read the failing violations of a validation report written by aws-cdk-lib. */
function violationsFromReport(file) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const out = [];
  for (const plugin of report.pluginReports || []) {
    if (plugin.conclusion !== 'failure') continue;
    for (const v of plugin.violations || []) {
      if (v.severity && v.severity !== 'error') continue;
      const text = `${v.description} (${plugin.pluginName}: ${v.ruleName})`;
      for (const c of v.violatingConstructs || [{}]) {
        out.push({ path: typeof c.constructPath === 'string' ? c.constructPath : null, message: text });
      }
    }
  }
  return out;
}

/** The op that created the construct at `cpath`, or its nearest ancestor that has one. */
function nearestCreator(cpath, creators) {
  const parts = cpath.split('/');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = parts.slice(0, n).join('/'); // ends with "", the App's own path
    if (creators.has(candidate)) return creators.get(candidate);
  }
  return null;
}

// ---------------------------------------------------------------------------
// Template validation: per stack, in worker threads, cached
// ---------------------------------------------------------------------------
//
// aws-cdk-lib's synthesize() ends with validateTemplates() (core/lib/private/
// synthesis-validation.js): it runs every validation plugin over all stacks, maps the
// violations to construct paths, applies acknowledgments, writes validation-report.json and
// throws or prints. Its slow part is the built-in CloudFormationValidatePlugin: building its
// WASM engine takes seconds, and the engine's report on one template depends only on that
// template, the stack's path and environment, the plugin's props and the rules chosen for the
// resource types of all templates. So while that step runs, the plugin's validate() is
// replaced by one that takes each template's report from the cache or from worker threads
// (which load the engine while the main thread replays), and merges them exactly as the plugin
// itself merges templates. Everything else (other plugins such as cdk-nag, which read the
// construct tree, and all of the post-processing) stays aws-cdk-lib's own code, in this thread.
//
// Env: CDK_FROM_RUST_VALIDATION_JOBS (threads, this one included; 1: this one only; 0:
// aws-cdk-lib's own step, untouched), CDK_FROM_RUST_VALIDATION_CACHE (the cache directory; unset:
// no cache), CDK_FROM_RUST_TIMINGS (a file for the phase timings). README.md (beside this file)
// says more.

const WORKER_ROLE = 'cdk-from-rust-validator';
/** At most this many jobs by default: each worker thread holds an engine of about 225 MB. */
const DEFAULT_JOBS_MAX = 4;
/** Cache entries kept (one per stack template and inputs; a few KB each). */
const VALIDATION_CACHE_MAX = 256;
/** Bumped when the cache entry format or the merge changes. */
const VALIDATION_CACHE_FORMAT = 1;

const timings = {
  load_ms: 0, replay_ms: 0, synth_ms: 0, validation_ms: 0, wait_ms: 0, engine_ms: [], heap_reserved: [], stacks: [],
};
const validationStats = { ran: false, validated: [], cached: [], jobs: 0, keys: [] };

function now() {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * CDK_FROM_RUST_VALIDATION_JOBS, else the cores this process may use (at most DEFAULT_JOBS_MAX):
 * the threads that validate templates, the main thread included (1: only the main thread; 0:
 * aws-cdk-lib validates by itself, all stacks at once, without this section and its cache).
 */
function validationJobs() {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const fallback = Math.min(cores, DEFAULT_JOBS_MAX);
  const raw = process.env.CDK_FROM_RUST_VALIDATION_JOBS;
  if (raw === undefined || raw === '') return Math.max(1, fallback);
  if (/^(0|[1-9][0-9]*)$/.test(raw)) return Number(raw);
  writeStderr(`warning: CDK_FROM_RUST_VALIDATION_JOBS must be a number (1: in the main thread, `
    + `0: aws-cdk-lib's own validation); got ${JSON.stringify(raw)}, using ${fallback}\n`);
  return Math.max(1, fallback);
}

/**
 * The validator engines of one thread (a worker, or the main thread with one job): one
 * CloudFormationValidatePlugin per (props, rule-relevant resource types), its engine built once.
 * The plugin picks its rules by the resource types of the templates it is given; `relevant` is
 * the part of those types any rule names, so an engine built for `relevant` has exactly the rules
 * the plugin would pick for `types`, and is told so (engineResourceTypes) to keep it.
 */
class Engines {
  /**
   * `validate`: the plugin's own validate() (in the main thread, the prototype's is replaced).
   * Loads the validator, its heap reserved (loadValidator).
   */
  constructor(Plugin, validate = Plugin.prototype.validate) {
    this.Plugin = Plugin;
    ({ version: this.version, reserved: this.reserved } = loadValidator(Plugin));
    this.validateTemplates = validate;
    this.plugins = new Map();
  }

  plugin(props, types, relevant) {
    const key = JSON.stringify([props, relevant]);
    let plugin = this.plugins.get(key);
    if (!plugin) {
      plugin = new this.Plugin(props);
      plugin.initializeEngine(new Set(relevant));
      this.plugins.set(key, plugin);
    }
    plugin.engineResourceTypes = new Set([...plugin.engineResourceTypes, ...types]);
    return plugin;
  }

  /** The plugin's report on one stack's template, as plain data. */
  validate(job, props, types, relevant) {
    const plugin = this.plugin(props, types, relevant);
    const report = this.validateTemplates.call(plugin, {
      templatePaths: [job.templatePath],
      stackTemplates: [{
        stackConstructPath: job.stackConstructPath,
        templatePath: job.templatePath,
        accountId: job.accountId,
        region: job.region,
      }],
      accountId: job.accountId,
      region: job.region,
    });
    return JSON.parse(JSON.stringify(report));
  }
}

/**
 * Bytes of the validator's WebAssembly heap reserved before its first engine is built: what the
 * default engine uses (its memory ends at 192 MB with or without the reservation).
 */
const VALIDATOR_HEAP_RESERVE = 160 * 1024 * 1024;

/**
 * Loads the validator into this thread; returns its version and whether its heap was reserved.
 * Its WebAssembly allocator grows the module's memory 64 KiB at a time, over a thousand times
 * while an engine is built, and V8 runs a garbage collection for nearly every grow (each grown
 * buffer counts as new external memory): about two thirds of an engine's build. So, when this
 * load instantiates the module, one allocation of VALIDATOR_HEAP_RESERVE is made and freed
 * through the module's own exported allocator (wasm-bindgen's `__wbindgen_malloc` and
 * `__wbindgen_free`), which keeps the memory for the engine: one grow instead of a thousand, an
 * engine about three times faster, the same code and results. Best effort: if the validator's
 * packaging changes, it is loaded as before.
 */
function loadValidator(Plugin) {
  const Instance = WebAssembly.Instance;
  let reserved = false;
  let instance = null;
  function CapturingInstance(module, imports) {
    instance = new Instance(module, imports);
    return instance;
  }
  CapturingInstance.prototype = Instance.prototype;
  WebAssembly.Instance = CapturingInstance;
  let version;
  try {
    version = String(new Plugin().version); // requires the validator: its module is instantiated
  } finally {
    WebAssembly.Instance = Instance;
  }
  try {
    const exports = instance ? instance.exports : {};
    const { __wbindgen_malloc: malloc, __wbindgen_free: free } = exports;
    if (typeof malloc === 'function' && typeof free === 'function') {
      const ptr = malloc(VALIDATOR_HEAP_RESERVE, 8);
      if (ptr) free(ptr, VALIDATOR_HEAP_RESERVE, 8);
      reserved = Boolean(ptr);
    }
  } catch {
    // no reservation: the engine is built as aws-cdk-lib builds it
  }
  return { version, reserved };
}

/** A worker thread: builds the common engine, then validates the templates of each batch. */
function validatorWorker() {
  const { port, signal } = threads.workerData;
  const reply = (message) => {
    port.postMessage(message);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  let engines = null;
  try {
    const Plugin = loadModule('aws-cdk-lib').CloudFormationValidatePlugin;
    engines = new Engines(Plugin);
    reply({ type: 'ready', version: engines.version, reserved: engines.reserved });
    // The engine of the default plugin for templates with no rule-specific resource types:
    // what most apps need, built while the main thread replays.
    const started = now();
    engines.plugin({}, [], []);
    reply({ type: 'engine', ms: now() - started });
  } catch (err) {
    reply({ type: 'ready', error: errorText(err) });
  }
  threads.parentPort.on('message', (batch) => {
    for (;;) {
      const index = Atomics.add(batch.counter, 0, 1);
      if (index >= batch.jobs.length) break;
      const job = batch.jobs[index];
      try {
        if (!engines) throw new Error('the validator could not be loaded in its worker thread');
        const started = now();
        const report = engines.validate(job, batch.props, batch.types, batch.relevant);
        reply({ type: 'result', key: job.key, report, ms: now() - started });
      } catch (err) {
        reply({ type: 'result', key: job.key, error: errorText(err) });
      }
    }
  });
}

/** Worker threads validating templates; results are read synchronously (aws-cdk-lib is). */
class ValidatorPool {
  /** Starts `count` worker threads; each loads the validator and builds the common engine. */
  constructor(count) {
    this.workers = [];
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    this.version = null;
    this.results = new Map(); // job key -> {report, ms} | {error}
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new threads.MessageChannel();
      const worker = new threads.Worker(__filename, {
        workerData: { role: WORKER_ROLE, port: port2, signal: this.signal },
        transferList: [port2],
      });
      worker.unref();
      worker.on('error', () => {}); // a dead worker is noticed by waitFor (threadId -1)
      this.workers.push({ worker, port: port1 });
    }
  }

  /** Posts jobs (biggest template first); each idle worker takes the next one. */
  submit(jobs, props, types, relevant) {
    if (jobs.length === 0) return;
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const batch = { jobs, props, types, relevant, counter };
    for (const w of this.workers) w.worker.postMessage(batch);
  }

  drain() {
    for (const w of this.workers) {
      for (let m = threads.receiveMessageOnPort(w.port); m; m = threads.receiveMessageOnPort(w.port)) {
        const message = m.message;
        if (message.type === 'ready') {
          if (message.version && this.version === null) this.version = message.version;
          if (message.version) timings.heap_reserved.push(Boolean(message.reserved));
        } else if (message.type === 'engine') {
          timings.engine_ms.push(message.ms);
        } else if (message.type === 'result') {
          this.results.set(message.key, message.error ? { error: message.error } : { report: message.report, ms: message.ms });
        }
      }
    }
  }

  /** Blocks until `done()` holds, reading the workers' messages; false if they all died first. */
  waitUntil(done) {
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      this.drain();
      if (done()) return true;
      if (this.workers.every((w) => w.worker.threadId === -1)) return false;
      Atomics.wait(this.signal, 0, seen, 250);
    }
  }

  /** Blocks until every key has a result; false if the workers died first. */
  waitFor(keys) {
    return this.waitUntil(() => keys.every((k) => this.results.has(k)));
  }

  /** The validator's version as a worker reported it, waiting for the first one to load. */
  validatorVersion() {
    this.waitUntil(() => this.version !== null);
    return this.version;
  }
}

/** Per-stack reports kept on disk, one file per key, the least recently used evicted. */
class ValidationCache {
  constructor(dir) {
    this.dir = dir;
    this.warned = false;
  }

  get(key) {
    const file = path.join(this.dir, `${key}.json`);
    let entry;
    try {
      entry = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return null;
    }
    if (!isPlainObject(entry) || entry.key !== key || !isPlainObject(entry.report)) return null;
    try {
      const t = new Date();
      fs.utimesSync(file, t, t);
    } catch {
      // still a hit
    }
    return entry;
  }

  put(key, entry) {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const tmp = path.join(this.dir, `.${key}.${process.pid}.${threads.threadId}.tmp`);
      fs.writeFileSync(tmp, JSON.stringify({ key, ...entry }));
      fs.renameSync(tmp, path.join(this.dir, `${key}.json`));
    } catch (err) {
      this.warn(err);
    }
  }

  /** Records the entries a program's run used (see hintKey). */
  putHint(hint, keys) {
    this.put(`hint-${hint}`, { keys, report: {} });
  }

  /** Whether the entries a program's last run used are all still here. */
  hintHolds(hint) {
    const entry = this.get(`hint-${hint}`);
    if (!entry || !Array.isArray(entry.keys) || entry.keys.length === 0) return false;
    return entry.keys.every((k) => fs.existsSync(path.join(this.dir, `${k}.json`)));
  }

  evict() {
    try {
      const entries = fs.readdirSync(this.dir)
        .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
        .map((n) => {
          const file = path.join(this.dir, n);
          try {
            return { file, mtime: fs.statSync(file).mtimeMs };
          } catch {
            return null;
          }
        })
        .filter(Boolean)
        .sort((a, b) => a.mtime - b.mtime);
      for (const e of entries.slice(0, Math.max(0, entries.length - VALIDATION_CACHE_MAX))) {
        fs.rmSync(e.file, { force: true });
      }
    } catch (err) {
      this.warn(err);
    }
  }

  warn(err) {
    if (this.warned) return;
    this.warned = true;
    writeStderr(`warning: the validation cache ${this.dir} could not be written: ${firstLine(errorText(err))}\n`);
  }
}

/** The installed package.json of `name` as found from `dir`, as bytes (null if none). */
function packageManifest(name, dir) {
  const found = installedPackage(name, dir);
  if (!found) return null;
  try {
    return fs.readFileSync(path.join(found.dir, 'package.json'));
  } catch {
    return null;
  }
}

/** Resource types of a template's text (as the plugin counts them). */
function resourceTypes(text) {
  const types = new Set();
  try {
    for (const r of Object.values(JSON.parse(text)?.Resources ?? {})) {
      if (r && typeof r === 'object' && typeof r.Type === 'string') types.add(r.Type);
    }
  } catch {
    // the plugin ignores unparsable templates here too
  }
  return types;
}

let validationInstalled = null; // whether installValidation() wrapped the step
let validationPool = null; // the worker threads, if any
let validationCache = null; // the ValidationCache, if any
let validationCommon = null; // the key part every entry shares
let validationLazy = false; // start the worker threads at the first miss (none was expected)
let validationHint = null; // the hint file's key for this program (see hintKey)

/**
 * Set up before the first app.synth(): wraps aws-cdk-lib's validateTemplates. Returns false (and
 * leaves aws-cdk-lib alone) when this aws-cdk-lib does not have the expected shape.
 */
function installValidation() {
  if (validationInstalled !== null) return validationInstalled;
  validationInstalled = false;
  let lib;
  let synthesisValidation;
  try {
    lib = path.dirname(require.resolve('aws-cdk-lib', { paths: [packageBase()] }));
    synthesisValidation = require(path.join(lib, 'core', 'lib', 'private', 'synthesis-validation.js'));
  } catch {
    return false;
  }
  let Plugin;
  try {
    Plugin = loadModule('aws-cdk-lib').CloudFormationValidatePlugin;
  } catch {
    return false;
  }
  const original = synthesisValidation.validateTemplates;
  if (typeof original !== 'function' || typeof Plugin !== 'function'
    || typeof Plugin.prototype.validate !== 'function' || typeof Plugin.prototype.initializeEngine !== 'function') {
    return false;
  }
  let ruleTypes = null; // every resource type any built-in rule names
  let rulesIndex = null;
  try {
    rulesIndex = fs.readFileSync(path.join(lib, 'core', 'lib', 'validation', 'rules', 'index.generated.json'));
    ruleTypes = new Set();
    for (const r of JSON.parse(rulesIndex).rules) for (const t of r.types || []) ruleTypes.add(t);
  } catch {
    ruleTypes = null; // then every type counts
  }
  const dir = process.env.CDK_FROM_RUST_VALIDATION_CACHE;
  const cache = dir ? new ValidationCache(path.resolve(dir)) : null;
  validationCache = cache;
  const common = sha256(JSON.stringify({
    format: VALIDATION_CACHE_FORMAT,
    shim: sha256(fs.readFileSync(__filename)),
    node: process.version,
    'aws-cdk-lib': sha256(packageManifest('aws-cdk-lib', packageBase()) || ''),
    validator: sha256(packageManifest('@aws/cloudformation-validate', lib) || ''),
    rules: sha256(rulesIndex || ''),
  }));
  validationCommon = common;
  const validateOriginal = Plugin.prototype.validate;
  const engines = { main: null }; // with one job: this thread's engines

  /** A run of the validation step: jobs by key, for the speculative and the real requests. */
  function newRun() {
    return { entries: new Map(), plans: new Map(), version: null };
  }

  /** The per-stack jobs for `stackTemplates` as `plugin` would validate them together. */
  function plan(run, plugin, stackTemplates) {
    const props = JSON.parse(JSON.stringify(plugin.props ?? {}));
    const id = JSON.stringify([plugin.name, props, stackTemplates]);
    if (!run.plans.has(id)) run.plans.set(id, planAnew(plugin.name, props, stackTemplates));
    return run.plans.get(id);
  }

  function planAnew(name, props, stackTemplates) {
    const texts = stackTemplates.map((s) => fs.readFileSync(s.templatePath));
    const all = new Set();
    for (const text of texts) for (const t of resourceTypes(text)) all.add(t);
    const types = [...all].sort();
    const relevant = ruleTypes ? types.filter((t) => ruleTypes.has(t)) : types;
    const pluginKey = JSON.stringify({ name, props, relevant });
    const jobs = stackTemplates.map((s, i) => ({
      key: sha256(JSON.stringify([common, pluginKey, s.stackConstructPath, s.accountId ?? null,
        s.region ?? null, sha256(texts[i])])),
      stackConstructPath: s.stackConstructPath,
      templatePath: s.templatePath,
      accountId: s.accountId,
      region: s.region,
      size: texts[i].length,
    }));
    return { jobs, props, types, relevant };
  }

  /** Starts what `plan` needs: cache hits are taken, misses go to the workers. */
  function request(run, planned) {
    const misses = [];
    for (const job of planned.jobs) {
      if (run.entries.has(job.key)) continue;
      const hit = cache && cache.get(job.key);
      if (hit) {
        run.entries.set(job.key, { job, cached: true, report: hit.report, version: hit.version });
      } else {
        run.entries.set(job.key, { job, cached: false });
        misses.push(job);
      }
    }
    if (validationLazy && misses.length > 0) {
      validationLazy = false;
      validationPool = new ValidatorPool(validationStats.jobs - 1);
    }
    if (validationPool && misses.length > 0) {
      misses.sort((a, b) => b.size - a.size);
      validationPool.submit(misses, planned.props, planned.types, planned.relevant);
    }
  }

  /** The plugin's report for `context`, per stack, in aws-cdk-lib's order and grouping. */
  function validate(run, plugin, context) {
    const planned = plan(run, plugin, context.stackTemplates);
    request(run, planned);
    const fresh = (j) => !run.entries.get(j.key).cached && !run.entries.get(j.key).report;
    const pending = planned.jobs.filter(fresh).map((j) => j.key);
    const waitStarted = now();
    if (pending.length > 0 && validationPool && !validationPool.waitFor(pending)) {
      writeStderr('warning: the validation worker threads ended early; validating in the main thread\n');
    }
    timings.wait_ms += now() - waitStarted;
    const reports = [];
    const validated = [];
    const cached = [];
    for (const job of planned.jobs) {
      const entry = run.entries.get(job.key);
      if (!entry.cached && !entry.report) {
        const result = validationPool && validationPool.results.get(job.key);
        if (result && result.error) throw new Error(result.error);
        if (result) {
          entry.report = result.report;
          entry.ms = result.ms;
        } else {
          const started = now();
          if (!engines.main) {
            engines.main = new Engines(Plugin, validateOriginal);
            timings.heap_reserved.push(engines.main.reserved);
          }
          entry.report = engines.main.validate(job, planned.props, planned.types, planned.relevant);
          entry.ms = now() - started;
        }
        const stored = storable(entry.report, job.templatePath);
        if (cache && stored) {
          cache.put(job.key, { stack: job.stackConstructPath, version: pluginVersion(run), report: stored });
        }
      }
      if (entry.cached && entry.version && run.version === null) run.version = entry.version;
      (entry.cached ? cached : validated).push(job.stackConstructPath);
      timings.stacks.push({ stack: job.stackConstructPath, cached: entry.cached, ms: entry.cached ? 0 : entry.ms });
      reports.push(entry.cached ? restored(entry.report, job.templatePath) : JSON.parse(JSON.stringify(entry.report)));
    }
    validationStats.keys.push(...planned.jobs.map((j) => j.key));
    if (cache && validationHint) cache.putHint(validationHint, validationStats.keys);
    if (cache) cache.evict();
    validationStats.ran = true;
    validationStats.validated.push(...validated);
    validationStats.cached.push(...cached);
    const n = validated.length;
    writeStderr(`validation: ${n} stack${n === 1 ? '' : 's'} validated${n > 0 ? ` (${validated.join(', ')})` : ''}, `
      + `${cache ? `${cached.length} from cache` : 'no cache'}, ${validationStats.jobs} job${validationStats.jobs === 1 ? '' : 's'}\n`);
    return merge(reports);
  }

  function pluginVersion(run) {
    if (run.version === null) {
      run.version = (validationPool && validationPool.validatorVersion()) || (engines.main ? String(new Plugin().version) : null);
    }
    return run.version;
  }

  synthesisValidation.validateTemplates = function validateTemplates(root, outdir, assembly) {
    const started = now();
    const run = newRun();
    // The speculation: the default plugin will be asked about every stack of the assembly.
    try {
      const stacks = assembly.stacksRecursively || assembly.stacks || [];
      const defaultOn = root._builtinCloudFormationValidation && process.env.CDK_VALIDATION !== 'false';
      const own = (root._validationPlugins || []).find((p) => p instanceof Plugin);
      const target = own || (defaultOn ? Plugin._singletonInstance() : null);
      if (target && !target.props?._additionalSchemasDirectory && stacks.length > 0) {
        request(run, plan(run, target, stacks.map((s) => ({
          stackConstructPath: s.hierarchicalId,
          templatePath: s.templateFullPath,
          accountId: s.environment?.account !== 'unknown-account' ? s.environment?.account : undefined,
          region: s.environment?.region !== 'unknown-region' ? s.environment?.region : undefined,
        }))));
      }
    } catch {
      // only a head start; validate() plans again from what aws-cdk-lib asks
    }
    const shadowed = new Set();
    Plugin.prototype.validate = function validateByStack(context) {
      // Schema overlays are read (and reported) by the plugin itself: its own path.
      if (this.props?._additionalSchemasDirectory) return validateOriginal.call(this, context);
      try {
        return validate(run, this, context);
      } finally {
        // aws-cdk-lib names the validator's version in the report: known from the cache or a
        // worker, so this thread need not load the engine for it.
        const version = run.version ?? (validationPool ? validationPool.validatorVersion() : null);
        if (version !== null && !Object.prototype.hasOwnProperty.call(this, 'version')) {
          Object.defineProperty(this, 'version', { value: version, configurable: true });
          shadowed.add(this);
        }
      }
    };
    try {
      return original.call(this, root, outdir, assembly);
    } finally {
      Plugin.prototype.validate = validateOriginal;
      for (const p of shadowed) delete p.version;
      timings.validation_ms += now() - started;
    }
  };
  validationInstalled = true;
  return true;
}

/**
 * Before the replay: when the program synthesizes, wraps aws-cdk-lib's validation step and
 * starts the worker threads (jobs - 1: the main thread, which replays, synthesizes and runs the
 * other plugins, is the first job), so that they load the validator while the main thread replays.
 */
function startValidation(program) {
  if (!Array.isArray(program.synth) || program.synth.length === 0) return;
  const jobs = validationJobs();
  if (jobs === 0 || !installValidation()) return; // aws-cdk-lib's own serial path
  // The validator is 9 MB of WebAssembly that runs for a few seconds in a short-lived process:
  // V8's baseline compiler alone (no optimizing tier-up in background threads) costs about a
  // quarter less CPU here. Same code, same results; process-wide, so set before any is compiled.
  try {
    require('v8').setFlagsFromString('--liftoff-only');
  } catch {
    // a Node.js without the flag compiles as usual
  }
  // No engine to build ahead when CDK_VALIDATION=false turns aws-cdk-lib's default validator off,
  // nor when this program's last run found every template's result in the cache (then its
  // templates are most likely the same; should one differ, the workers start then).
  const parallel = jobs > 1 && process.env.CDK_VALIDATION !== 'false';
  validationHint = validationCache ? hintKey(program) : null;
  validationLazy = parallel && validationHint !== null && validationCache.hintHolds(validationHint);
  validationPool = parallel && !validationLazy ? new ValidatorPool(jobs - 1) : null;
  validationStats.jobs = parallel ? jobs : 1;
}

/**
 * What identifies a program's templates before it is replayed: its operations without their call
 * sites (moving Rust code changes no template), the environment aws-cdk-lib reads (the context),
 * the working directory and the validator. Only a guess that saves building an engine: a wrong
 * one costs time, never a wrong result.
 */
function hintKey(program) {
  const ops = (program.ops || []).map(({ site: _, ...op }) => op);
  const env = Object.entries(process.env)
    .filter(([k]) => /^(CDK|AWS)_/.test(k) && k !== 'CDK_OUTDIR' && !k.startsWith('CDK_FROM_RUST_'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify([validationCommon, ops, program.synth, env, process.cwd()]));
}

/** For the result: which stacks the CloudFormation validator ran on, which came from the cache. */
function validationResult() {
  if (!validationStats.ran) return {};
  const { validated, cached, jobs } = validationStats;
  return { validation: { validated, cached, jobs } };
}

/**
 * A fresh report as the cache keeps it: the template's path (which differs between output
 * directories) left out; null if the report names another template (then it is not kept).
 */
function storable(report, templatePath) {
  const copy = JSON.parse(JSON.stringify(report));
  for (const v of copy.violations || []) {
    for (const r of v.violatingResources || []) {
      if (!('templatePath' in r)) continue;
      if (r.templatePath !== templatePath) return null;
      r.templatePath = null;
    }
  }
  return copy;
}

/** A cached report with this run's template path put back. */
function restored(report, templatePath) {
  const copy = JSON.parse(JSON.stringify(report));
  for (const v of copy.violations || []) {
    for (const r of v.violatingResources || []) {
      if ('templatePath' in r && r.templatePath === null) r.templatePath = templatePath;
    }
  }
  return copy;
}

/**
 * Per-stack reports as one, the way CloudFormationValidatePlugin.validate groups the templates
 * it is given: in stack order, a violation with the rule, severity and description of an
 * earlier one adds its resources to that one.
 */
function merge(reports) {
  const violations = [];
  for (const report of reports) {
    for (const v of report.violations || []) {
      const existing = violations.find((e) => e.ruleName === v.ruleName && e.severity === v.severity
        && e.description === v.description);
      if (existing) existing.violatingResources.push(...v.violatingResources);
      else violations.push(v);
    }
  }
  return { success: violations.every((v) => v.severity !== 'error' && v.severity !== 'fatal'), violations };
}

/** CDK_FROM_RUST_TIMINGS: the phase timings and validation counts, as one JSON object. */
function writeTimings() {
  const file = process.env.CDK_FROM_RUST_TIMINGS;
  if (!file) return;
  const ms = (v) => Math.round(v);
  const data = {
    replay_ms: ms(timings.replay_ms),
    synth_ms: ms(timings.synth_ms),
    validation_ms: ms(timings.validation_ms),
    stacks_validated: validationStats.validated.length,
    stacks_cached: validationStats.cached.length,
    validation_jobs: validationStats.jobs,
    load_ms: ms(timings.load_ms),
    total_ms: ms(process.uptime() * 1000),
    validation_wait_ms: ms(timings.wait_ms),
    validation_workers: validationPool ? validationPool.workers.length : 0,
    engine_ms: timings.engine_ms.map(ms),
    validator_heap_reserved: timings.heap_reserved,
    stacks: timings.stacks.map((s) => ({ ...s, ms: ms(s.ms) })),
  };
  try {
    fs.writeFileSync(file, `${JSON.stringify(data)}\n`);
  } catch (err) {
    writeStderr(`warning: cannot write the timings to ${file}: ${errorText(err)}\n`);
  }
}

// ---------------------------------------------------------------------------
// Formatting helpers
// ---------------------------------------------------------------------------

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function validSite(site) {
  return isPlainObject(site) && typeof site.file === 'string'
    && Number.isInteger(site.line) && Number.isInteger(site.column);
}

function formatSite(site) {
  return validSite(site) ? `${site.file}:${site.line}:${site.column}` : '(no recorded site)';
}

function constructNode(value) {
  if (value === null || typeof value !== 'object') return null;
  let node;
  try {
    // Some aws-cdk-lib values are not constructs but throw on `.node`
    // (e.g. `ManagedPolicy.fromAwsManagedPolicyName` raises DetachedConstructNodeAccess).
    node = value.node;
  } catch {
    return null;
  }
  return node && typeof node.path === 'string' ? node : null;
}

/** jsii fqn of an object's class if it has one (aws-cdk-lib classes do), else a JS type name. */
function describeValue(value) {
  if (value === null || value === undefined) return String(value);
  const fqn = value.constructor?.[Symbol.for('jsii.rtti')]?.fqn;
  if (fqn) return `the ${fqn}`;
  return Array.isArray(value) ? 'the array' : `the ${typeof value}`;
}

function describeOp(op, results) {
  switch (op.op) {
    case 'new': return `new ${op.fqn}`;
    case 'static': return `static ${op.fqn}.${op.method}`;
    case 'static-get': return `static-get ${op.fqn}.${op.property}`;
    case 'call': return `call ${op.method} on #${op.target}${targetFqn(op, results)}`;
    case 'get': return `get ${op.property} of #${op.target}${targetFqn(op, results)}`;
    case 'length': return `length of #${op.target} (expect ${op.length})`;
    case 'defined': return `defined #${op.target}`;
    default: return String(op.op);
  }
}

function targetFqn(op, results) {
  const fqn = results[op.target]?.constructor?.[Symbol.for('jsii.rtti')]?.fqn;
  return fqn ? ` (${fqn})` : '';
}

/** An error's message (never its stack: aws-cdk-lib is minified), plus its name if telling. */
function errorText(err) {
  if (!(err instanceof Error) && !(err && typeof err.message === 'string')) return String(err);
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${name}${err.message}`;
}

function firstLine(err) {
  const text = typeof err === 'string' ? err : String(err?.message ?? err);
  return text.split('\n')[0];
}

function indentContinuation(text, indent) {
  return text.split('\n').join(`\n${indent}`);
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function readInput() {
  if (process.argv[2]) return fs.readFileSync(process.argv[2], 'utf8');
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes the result and exits with `code` once everything written to stdout and stderr has
 * been handed to the operating system: process.exit() drops what a pipe has not taken yet
 * (a report over 64 KiB would be cut off), so exit waits for the streams' write callbacks.
 * Exiting explicitly matters: an App created while CDK_OUTDIR is set synthesizes itself again
 * on 'beforeExit' (autoSynth), which would write to the outdir after a failure and print
 * aws-cdk-lib's reports a second time; process.exit() skips 'beforeExit'.
 */
function finish(code, result) {
  writeTimings();
  const line = `${JSON.stringify(result)}\n`;
  if (RESULT_FILE) {
    try {
      fs.writeFileSync(RESULT_FILE, line); // synchronous and whole, whatever the size
    } catch (err) {
      writeStderr(`error: cannot write the result to ${RESULT_FILE}: ${errorText(err)}\n`);
      code = EXIT.internal;
    }
  } else {
    writeStdout(line);
  }
  let pending = 2;
  const flushed = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  // Write callbacks run in order, so an empty write's callback means all earlier writes are out.
  writeStdout('', flushed);
  writeStderr('', flushed);
}

async function main() {
  let program;
  try {
    program = parseProgram(await readInput());
    checkVersion(program);
    checkEnvironment(program);
    validateProgram(program);
    startValidation(program);
    timings.load_ms = process.uptime() * 1000;
    const started = now();
    const { results, creators } = replay(program);
    timings.replay_ms = now() - started;
    const synthesized = synthesize(program, results, creators);
    finish(EXIT.ok, { ok: true, synthesized, ...validationResult() });
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    // A caller that reads the result file renders the report itself.
    if (!RESULT_FILE) {
      const lines = [`error: ${err.headline}`];
      const listProblems = err.kind === 'malformed'
        && (err.problems.length > 1 || err.problems[0].message !== err.message);
      if (listProblems) {
        for (const p of err.problems) lines.push(`- ${p.message}${p.site ? ` (recorded at ${formatSite(p.site)})` : ''}`);
      }
      lines.push(...err.details.map((d) => `  ${d}`));
      writeStderr(`${lines.join('\n')}\n`);
    }
    const code = err.kind === 'operation' ? EXIT.operation
      : err.kind === 'synthesis' ? EXIT.synthesis
        : ENVIRONMENT_KINDS.includes(err.kind) ? EXIT.environment : EXIT.refused;
    finish(code, {
      ok: false,
      error: { kind: err.kind, message: err.message, problems: err.problems },
      ...validationResult(),
    });
  }
}

if (!threads.isMainThread && threads.workerData?.role === WORKER_ROLE) {
  validatorWorker();
} else {
  main().catch(crashed);
}

function crashed(err) {
  const message = `internal error in the cdk-from-rust shim: ${errorText(err)}`;
  writeStderr(`error: ${message}\n`);
  finish(EXIT.internal, {
    ok: false,
    error: { kind: 'internal', message: firstLine(message), problems: [{ message, op: null, site: null, path: null }] },
  });
}
