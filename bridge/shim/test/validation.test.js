// aws-cdk-lib's CloudFormation template validation, per stack: in worker threads or in the main
// thread, from the cache or fresh, the report and the outcome are those aws-cdk-lib makes by
// itself (CDK_FROM_RUST_VALIDATION_JOBS=0), and only changed templates are validated again.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { site, program, tempOutdir, tempDir, runShim } = require('./helpers');

const REPO = path.join(__dirname, '..', '..', '..'); // the repository root, which has node_modules
const ENV = { account: '111111111111', region: 'eu-west-1' };

/**
 * Two stacks whose templates draw warnings from the validator: a hard-coded availability zone in
 * each (the same rule and description: aws-cdk-lib's report groups them across stacks), another
 * zone in B, and a queue property the resource schema rejects in A (an error, a warning unless
 * `strict`). `zoneB2` changes only stack B's template.
 */
function twoStacks({ strict = false, zoneB2 = 'eu-west-1b', plugin = null } = {}) {
  const context = strict ? { '@aws-cdk/core:validateAgainstDefaultRules': true } : {};
  const subnet = (stack, id, zone, line) => ({
    op: 'new',
    fqn: 'aws-cdk-lib.aws_ec2.CfnSubnet',
    args: [{ $ref: stack }, id, { vpcId: 'vpc-12345678', cidrBlock: '10.0.0.0/24', availabilityZone: zone }],
    site: site(line, 'stacks/src/net.rs'),
  });
  const ops = [
    { op: 'new', fqn: 'aws-cdk-lib.App', args: [{ context }], site: site(1) }, // 0
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'A', { env: ENV }], site: site(2) }, // 1
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'B', { env: ENV }], site: site(3) }, // 2
    subnet(1, 'SubnetA', 'eu-west-1a', 10), // 3
    subnet(2, 'SubnetB1', 'eu-west-1a', 20), // 4
    subnet(2, 'SubnetB2', zoneB2, 21), // 5
    { op: 'new', fqn: 'aws-cdk-lib.aws_sqs.Queue', args: [{ $ref: 1 }, 'Jobs'], site: site(30, 'stacks/src/jobs.rs') }, // 6
    { op: 'get', target: 6, property: 'node', site: site(31) }, // 7
    { op: 'get', target: 7, property: 'defaultChild', site: site(31) }, // 8
    { op: 'call', target: 8, method: 'addPropertyOverride', args: ['VisibilityTimeout', 'soon'], site: site(31) }, // 9
  ];
  if (plugin) {
    ops.push(
      { op: 'static', fqn: 'aws-cdk-lib.Validations', method: 'of', args: [{ $ref: 0 }], site: site(40) },
      { op: 'new', fqn: 'aws-cdk-lib.CloudFormationValidatePlugin', args: [plugin], site: site(41) },
    );
    ops.push({ op: 'call', target: ops.length - 2, method: 'addPlugins', args: [{ $ref: ops.length - 1 }], site: site(42) });
  }
  return program(ops);
}

/** Runs the shim with `jobs` and the validation cache `cache` (null: none). */
async function run(t, prog, { jobs = '2', cache = null, cwd, env = {} } = {}) {
  const outdir = tempOutdir(t);
  const r = await runShim(prog, {
    outdir,
    cwd,
    env: { CDK_FROM_RUST_VALIDATION_JOBS: jobs, CDK_FROM_RUST_VALIDATION_CACHE: cache ?? '', ...env },
  });
  const read = (name) => {
    const file = path.join(outdir, name);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  };
  // What aws-cdk-lib printed (its report), without this run's output directory and our own line.
  const printed = r.stderr.split(outdir).join('<outdir>').split('\n')
    .filter((l) => !l.startsWith('validation: ')).join('\n');
  return { ...r, outdir, printed, report: read('validation-report.json'), templates: [read('A.template.json'), read('B.template.json')] };
}

/** The violations of a validation report: rule, description, construct paths. */
function violations(report) {
  return JSON.parse(report).pluginReports.flatMap((p) => p.violations.map((v) => ({
    rule: v.ruleName,
    description: v.description,
    paths: v.violatingConstructs.map((c) => c.constructPath),
  })));
}

test('per stack, in worker threads or in the main thread, the report is the one aws-cdk-lib writes itself', async (t) => {
  const prog = twoStacks();
  const own = await run(t, prog, { jobs: '0' });
  assert.equal(own.code, 0, own.stderr);
  assert.equal(own.result.validation, undefined, 'jobs=0 leaves validation to aws-cdk-lib');
  // The report groups one rule and description across both stacks: what the merge must reproduce.
  const zoneA = violations(own.report).find((v) => v.rule === 'W3010' && v.description.includes("'eu-west-1a'"));
  assert.deepEqual(zoneA.paths, ['A/SubnetA', 'B/SubnetB1'], JSON.stringify(violations(own.report)));
  assert.match(own.printed, /W3010/, 'aws-cdk-lib prints its warnings');
  for (const jobs of ['1', '2']) {
    const r = await run(t, prog, { jobs });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result.validation, { validated: ['A', 'B'], cached: [], jobs: Number(jobs) });
    assert.equal(r.report, own.report, `jobs=${jobs}: validation-report.json`);
    assert.equal(r.printed, own.printed, `jobs=${jobs}: what aws-cdk-lib printed`);
    assert.deepEqual(r.templates, own.templates);
    assert.match(r.stderr, new RegExp(`^validation: 2 stacks validated \\(A, B\\), no cache, ${jobs} jobs?$`, 'm'));
  }
});

test('a restored result equals a fresh one, and only a changed template is validated again', async (t) => {
  const cache = tempDir(t, 'cdk-from-rust-validation-');
  const first = await run(t, twoStacks(), { cache });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.result.validation, { validated: ['A', 'B'], cached: [], jobs: 2 });
  const entries = fs.readdirSync(cache).filter((n) => n.endsWith('.json'));
  assert.equal(entries.filter((n) => !n.startsWith('hint-')).length, 2, `one entry per stack: ${entries}`);

  const again = await run(t, twoStacks(), { cache, jobs: '1' });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.result.validation, { validated: [], cached: ['A', 'B'], jobs: 1 });
  assert.match(again.stderr, /^validation: 0 stacks validated, 2 from cache, 1 job$/m);
  assert.equal(again.report, first.report);
  assert.equal(again.printed, first.printed);

  // Only B's template changes: A keeps its result; the report is the one made from scratch.
  const changed = await run(t, twoStacks({ zoneB2: 'eu-west-1c' }), { cache });
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual(changed.result.validation, { validated: ['B'], cached: ['A'], jobs: 2 });
  assert.match(changed.stderr, /^validation: 1 stack validated \(B\), 1 from cache, 2 jobs$/m);
  assert.notEqual(changed.report, first.report);
  const fresh = await run(t, twoStacks({ zoneB2: 'eu-west-1c' }), { jobs: '0' });
  assert.equal(changed.report, fresh.report);
  assert.equal(changed.printed, fresh.printed);
});

test('another plugin configuration or another validator version is validated again', async (t) => {
  const cache = tempDir(t, 'cdk-from-rust-validation-');
  const first = await run(t, twoStacks(), { cache });
  assert.deepEqual(first.result.validation.validated, ['A', 'B'], first.stderr);

  // The app registers the plugin itself, configured otherwise than the default one.
  const configured = await run(t, twoStacks({ plugin: { includeDefaultRules: false } }), { cache });
  assert.equal(configured.code, 0, configured.stderr);
  assert.deepEqual(configured.result.validation, { validated: ['A', 'B'], cached: [], jobs: 2 });

  // The same packages, but aws-cdk-lib's package.json differs (as after an upgrade): a project
  // whose node_modules links to this one's, with its own copy of that file.
  const project = tempDir(t, 'cdk-from-rust-project-');
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(modules, 'aws-cdk-lib'), { recursive: true });
  for (const name of fs.readdirSync(path.join(REPO, 'node_modules'))) {
    if (name !== 'aws-cdk-lib') fs.symlinkSync(path.join(REPO, 'node_modules', name), path.join(modules, name));
  }
  const lib = path.join(REPO, 'node_modules', 'aws-cdk-lib');
  for (const name of fs.readdirSync(lib)) {
    if (name !== 'package.json') fs.symlinkSync(path.join(lib, name), path.join(modules, 'aws-cdk-lib', name));
  }
  fs.writeFileSync(path.join(modules, 'aws-cdk-lib', 'package.json'),
    `${fs.readFileSync(path.join(lib, 'package.json'), 'utf8')}\n`);
  const upgraded = await run(t, twoStacks(), { cache, cwd: project });
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.deepEqual(upgraded.result.validation, { validated: ['A', 'B'], cached: [], jobs: 2 });

  // Back in this project, the first results are still there.
  const back = await run(t, twoStacks(), { cache });
  assert.deepEqual(back.result.validation, { validated: [], cached: ['A', 'B'], jobs: 2 });
});

test('a failing validation fails the same way in worker threads and from the cache, at the Rust call site', async (t) => {
  const prog = twoStacks({ strict: true });
  const own = await run(t, prog, { jobs: '0' });
  assert.equal(own.code, 4, own.stderr);
  const cache = tempDir(t, 'cdk-from-rust-validation-');
  const fresh = await run(t, prog, { cache });
  const restored = await run(t, prog, { cache });
  assert.deepEqual(fresh.result.validation, { validated: ['A', 'B'], cached: [], jobs: 2 });
  assert.deepEqual(restored.result.validation, { validated: [], cached: ['A', 'B'], jobs: 2 },
    'the failing result is kept as it is: a failure');
  for (const r of [fresh, restored]) {
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual(r.result.error, own.result.error);
    assert.equal(r.report, own.report);
    assert.equal(r.printed, own.printed);
  }
  const queue = own.result.error.problems.find((p) => p.path === 'A/Jobs/Resource');
  assert.ok(queue, JSON.stringify(own.result.error.problems));
  assert.deepEqual(queue.site, site(30, 'stacks/src/jobs.rs'));
  assert.match(queue.message, /VisibilityTimeout/);
  assert.match(restored.stderr, /recorded at stacks\/src\/jobs\.rs:30:5/);
});

test('CDK_FROM_RUST_TIMINGS receives the phases and the validation counts', async (t) => {
  const file = path.join(tempDir(t), 'timings.json');
  const r = await run(t, twoStacks(), { env: { CDK_FROM_RUST_TIMINGS: file } });
  assert.equal(r.code, 0, r.stderr);
  const timings = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of ['replay_ms', 'synth_ms', 'validation_ms']) {
    assert.ok(Number.isInteger(timings[key]) && timings[key] >= 0, `${key}: ${timings[key]}`);
  }
  assert.equal(timings.stacks_validated, 2);
  assert.equal(timings.stacks_cached, 0);
  assert.equal(timings.validation_jobs, 2);
  // The worker built its engine in a reserved heap (a changed validator packaging shows here).
  assert.deepEqual(timings.validator_heap_reserved, [true]);
  // So did the main thread, validating alone.
  const serial = await run(t, twoStacks(), { jobs: '1', env: { CDK_FROM_RUST_TIMINGS: file } });
  assert.equal(serial.code, 0, serial.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).validator_heap_reserved, [true]);
});

test('cdk-nag findings fail synthesis as before, beside validation results from worker threads and the cache', async (t) => {
  // cdk-nag reads the construct tree: it runs in the main thread, in every synthesis.
  const prog = program([
    { op: 'new', fqn: 'aws-cdk-lib.App', args: [], site: site(1) }, // 0
    { op: 'static', fqn: 'aws-cdk-lib.Validations', method: 'of', args: [{ $ref: 0 }], site: site(2) }, // 1
    { op: 'new', fqn: 'cdk-nag.AwsSolutionsChecks', args: [{ $ref: 0 }, {}], site: site(2) }, // 2
    { op: 'call', target: 1, method: 'addPlugins', args: [{ $ref: 2 }], site: site(2) }, // 3
    { op: 'new', fqn: 'aws-cdk-lib.Stack', args: [{ $ref: 0 }, 'Bare', { env: ENV }], site: site(3) }, // 4
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 4 }, 'Plain'], site: site(44, 'stacks/src/storage.rs') }, // 5
  ]);
  const own = await run(t, prog, { jobs: '0' });
  assert.equal(own.code, 4, own.stderr);
  const rules = own.result.error.problems.map((p) => p.message);
  assert.ok(rules.some((m) => m.includes('AwsSolutions-S1')), JSON.stringify(rules));
  for (const p of own.result.error.problems) assert.deepEqual(p.site, site(44, 'stacks/src/storage.rs'));
  const cache = tempDir(t, 'cdk-from-rust-validation-');
  for (const expected of [{ validated: ['Bare'], cached: [], jobs: 2 }, { validated: [], cached: ['Bare'], jobs: 2 }]) {
    const r = await run(t, prog, { cache });
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual(r.result.validation, expected);
    assert.deepEqual(r.result.error, own.result.error);
    assert.equal(r.report, own.report);
    assert.equal(r.printed, own.printed);
  }
});

test('a program whose results were all cached last time builds no engine ahead, and still validates what misses', async (t) => {
  const cache = tempDir(t, 'cdk-from-rust-validation-');
  const file = path.join(tempDir(t), 'timings.json');
  const timed = async (expected, workers) => {
    const r = await run(t, twoStacks(), { cache, env: { CDK_FROM_RUST_TIMINGS: file } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result.validation, { ...expected, jobs: 2 });
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).validation_workers, workers, r.stderr);
    return r;
  };
  const first = await timed({ validated: ['A', 'B'], cached: [] }, 1);
  await timed({ validated: [], cached: ['A', 'B'] }, 0);
  // A's result is unreadable (the hint still finds its file): the worker starts at the miss.
  const entryOf = (stack) => fs.readdirSync(cache).map((n) => path.join(cache, n))
    .find((f) => JSON.parse(fs.readFileSync(f, 'utf8')).stack === stack);
  fs.writeFileSync(entryOf('A'), 'not json');
  const lazy = await timed({ validated: ['A'], cached: ['B'] }, 1);
  assert.equal(lazy.report, first.report);
  // A's result is gone: the engine is built ahead again.
  fs.rmSync(entryOf('A'));
  await timed({ validated: ['A'], cached: ['B'] }, 1);
});
