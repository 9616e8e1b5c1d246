// Replaying and synthesizing programs: success, failing operations, failing synthesis.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { site, program, tempOutdir, runShim } = require('./helpers');

const APP = { op: 'new', fqn: 'aws-cdk-lib.App', args: [{ context: { k: 'v' } }], site: site(12) };
const STACK = {
  op: 'new',
  fqn: 'aws-cdk-lib.Stack',
  args: [{ $ref: 0 }, 'Sample', { env: { account: '111111111111', region: 'eu-west-1' } }],
  site: site(13),
};

function resourcesOfType(template, type) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

test('a valid program synthesizes, with enums, statics, gets and literals applied', async (t) => {
  const outdir = tempOutdir(t);
  const prog = program([
    APP, // 0
    STACK, // 1
    { op: 'static', fqn: 'aws-cdk-lib.Duration', method: 'seconds', args: [30], site: site(14) }, // 2
    { // 3
      op: 'new',
      fqn: 'aws-cdk-lib.aws_s3.Bucket',
      args: [{ $ref: 1 }, 'Bucket', { removalPolicy: { $enum: 'aws-cdk-lib.RemovalPolicy', member: 'RETAIN' } }],
      site: site(15),
    },
    { op: 'new', fqn: 'aws-cdk-lib.aws_sqs.Queue', args: [{ $ref: 1 }, 'Queue', { visibilityTimeout: { $ref: 2 } }], site: site(16) }, // 4
    { op: 'get', target: 4, property: 'queueArn', site: site(17) }, // 5
    { op: 'new', fqn: 'aws-cdk-lib.CfnOutput', args: [{ $ref: 1 }, 'QueueArn', { value: { $ref: 5 } }], site: site(18) }, // 6
    // An array-valued property, then its element "0": bucket.node.children[0] is the CfnBucket.
    { op: 'get', target: 3, property: 'node', site: site(19) }, // 7
    { op: 'get', target: 7, property: 'children', site: site(19) }, // 8
    { op: 'get', target: 8, property: '0', site: site(19) }, // 9
    { op: 'call', target: 9, method: 'addPropertyOverride', args: ['VersioningConfiguration.Status', 'Enabled'], site: site(20) }, // 10
    // $literal passes JSON through undecoded, even things that look like $ref.
    { op: 'call', target: 9, method: 'addMetadata', args: ['Raw', { $literal: { $ref: 999, list: [{ $enum: 'x' }] } }], site: site(21) }, // 11
    { op: 'get', target: 1, property: 'account', site: site(22) }, // 12
  ]);
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 0, r.stderr);
  const { validation, ...result } = r.result;
  assert.deepEqual(result, { ok: true, synthesized: [{ app: 0, outdir, stacks: ['Sample'] }] });
  // aws-cdk-lib's CloudFormation validator ran on the template (validation.test.js says more).
  assert.deepEqual(validation.validated, ['Sample']);

  const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Sample.template.json'), 'utf8'));
  const [[, bucket]] = resourcesOfType(template, 'AWS::S3::Bucket');
  assert.equal(bucket.DeletionPolicy, 'Retain');
  assert.equal(bucket.UpdateReplacePolicy, 'Retain');
  assert.deepEqual(bucket.Properties.VersioningConfiguration, { Status: 'Enabled' });
  assert.deepEqual(bucket.Metadata.Raw, { $ref: 999, list: [{ $enum: 'x' }] });
  const [[queueId, queue]] = resourcesOfType(template, 'AWS::SQS::Queue');
  assert.equal(queue.Properties.VisibilityTimeout, 30);
  assert.deepEqual(template.Outputs.QueueArn.Value, { 'Fn::GetAtt': [queueId, 'Arn'] });
});

test('an operation aws-cdk-lib rejects is reported with its op id and Rust site, without a stack dump', async (t) => {
  const outdir = tempOutdir(t);
  const prog = program([
    APP,
    STACK,
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 1 }, 'Data'], site: site(20, 'stacks/src/storage.rs') },
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 1 }, 'Data'], site: site(21, 'stacks/src/storage.rs', 9) },
  ]);
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /operation #3 \(new aws-cdk-lib\.aws_s3\.Bucket\) recorded at stacks\/src\/storage\.rs:21:9 failed/);
  assert.match(r.stderr, /construct path: Sample\/Data/);
  assert.match(r.stderr, /aws-cdk-lib says: There is already a Construct with name 'Data'/);
  assert.ok(r.stderr.length < 4000, `stderr too long (${r.stderr.length} chars):\n${r.stderr.slice(0, 500)}`);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace on stderr');

  const { error } = r.result;
  assert.equal(error.kind, 'operation');
  assert.equal(error.problems.length, 1);
  const [problem] = error.problems;
  assert.match(problem.message, /^There is already a Construct with name 'Data' in \S+ \[Sample\]$/);
  assert.equal(problem.op, 3);
  assert.deepEqual(problem.site, site(21, 'stacks/src/storage.rs', 9));
  assert.equal(problem.path, 'Sample/Data');
  assert.doesNotMatch(error.message, /\n/, 'the summary is one line');
});

test('a method that does not exist is an operation failure naming the target', async (t) => {
  const prog = program([APP, STACK, { op: 'call', target: 1, method: 'noSuchMethod', args: [], site: site(30) }]);
  const r = await runShim(prog, { outdir: tempOutdir(t) });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /operation #2 \(call noSuchMethod on #1 \(aws-cdk-lib\.Stack\)\) recorded at stacks\/src\/sample\.rs:30:5/);
  assert.equal(r.result.error.problems[0].path, 'Sample');
});

test('an error annotation fails synthesis and is traced to the op that created the construct', async (t) => {
  const outdir = tempOutdir(t);
  const prog = program([
    APP, // 0
    STACK, // 1
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 1 }, 'Logs'], site: site(40, 'stacks/src/logs.rs', 17) }, // 2
    { op: 'static', fqn: 'aws-cdk-lib.Annotations', method: 'of', args: [{ $ref: 2 }], site: site(41) }, // 3
    { op: 'call', target: 3, method: 'addError', args: ['logs bucket is not allowed here'], site: site(41) }, // 4
    { op: 'static', fqn: 'aws-cdk-lib.Annotations', method: 'of', args: [{ $ref: 1 }], site: site(42) }, // 5
    { op: 'call', target: 5, method: 'addError', args: ['stack-level problem'], site: site(42) }, // 6
  ]);
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 4, r.stderr);
  const { error } = r.result;
  assert.equal(error.kind, 'synthesis');
  const byPath = Object.fromEntries(error.problems.map((p) => [p.path, p]));
  assert.deepEqual(byPath['Sample/Logs'], {
    message: 'logs bucket is not allowed here', op: 2, site: site(40, 'stacks/src/logs.rs', 17), path: 'Sample/Logs',
  });
  assert.equal(byPath.Sample.op, 1);
  assert.match(r.stderr, /Sample\/Logs: logs bucket is not allowed here/);
  assert.match(r.stderr, /operation #2 \(new aws-cdk-lib\.aws_s3\.Bucket\) recorded at stacks\/src\/logs\.rs:40:17/);
});

test('a construct validation error thrown by synth() is traced to the op that created the construct', async (t) => {
  // A policy statement without resources is only rejected when the app synthesizes.
  const prog = program([
    APP, // 0
    STACK, // 1
    { op: 'new', fqn: 'aws-cdk-lib.aws_iam.PolicyStatement', args: [{ actions: ['s3:GetObject'] }], site: site(50) }, // 2
    { op: 'new', fqn: 'aws-cdk-lib.aws_iam.ManagedPolicy', args: [{ $ref: 1 }, 'Policy', { statements: [{ $ref: 2 }] }], site: site(51) }, // 3
  ]);
  const r = await runShim(prog, { outdir: tempOutdir(t) });
  assert.equal(r.code, 4, r.stderr);
  const [problem] = r.result.error.problems;
  assert.equal(r.result.error.problems.length, 1);
  assert.equal(problem.path, 'Sample/Policy');
  assert.equal(problem.op, 3);
  assert.deepEqual(problem.site, site(51));
  assert.match(problem.message, /must specify at least one resource/);
  assert.match(r.stderr, /recorded at stacks\/src\/sample\.rs:51:5/);
});

test('violations in the validation report are traced to the nearest recorded ancestor', async (t) => {
  // With this feature flag, aws-cdk-lib's built-in template validation fails synth() and
  // writes the violations (with construct paths) to validation-report.json in the outdir.
  const strictApp = { ...APP, args: [{ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } }] };
  const prog = program([
    strictApp, // 0
    STACK, // 1
    { op: 'new', fqn: 'aws-cdk-lib.aws_sqs.Queue', args: [{ $ref: 1 }, 'Jobs'], site: site(60, 'stacks/src/jobs.rs') }, // 2
    { op: 'get', target: 2, property: 'node', site: site(61) }, // 3
    { op: 'get', target: 3, property: 'defaultChild', site: site(61) }, // 4: Sample/Jobs/Resource
    { op: 'call', target: 4, method: 'addPropertyOverride', args: ['VisibilityTimeout', 'soon'], site: site(61) }, // 5
  ]);
  const outdir = tempOutdir(t);
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 4, r.stderr);
  const [problem, ...rest] = r.result.error.problems;
  assert.equal(rest.length, 0, JSON.stringify(rest));
  assert.equal(problem.path, 'Sample/Jobs/Resource');
  assert.equal(problem.op, 2, 'a get does not count as creating the construct it returns');
  assert.deepEqual(problem.site, site(60, 'stacks/src/jobs.rs'));
  assert.match(problem.message, /VisibilityTimeout/);
  assert.match(r.stderr, /recorded at stacks\/src\/jobs\.rs:60:5/);
  // aws-cdk-lib's own printed report names the Rust site too, not the shim's source.
  assert.doesNotMatch(r.stderr, /replay\.js/);
  assert.ok(fs.existsSync(path.join(outdir, 'validation-report.json')), 'the outdir is left as it is');
});

test('an array index past the end fails at the Rust line that read it (JsArray::at)', async (t) => {
  const outdir = tempOutdir(t);
  const prog = program([
    APP,
    STACK,
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 1 }, 'Data'], site: site(20) },
    { op: 'get', target: 2, property: 'node', site: site(21) },
    { op: 'get', target: 3, property: 'children', site: site(22) },
    { op: 'get', target: 4, property: '5', site: site(23, 'stacks/src/storage.rs', 7) },
  ]);
  const r = await runShim(prog, { outdir });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /operation #5 \(get 5 of #4\) recorded at stacks\/src\/storage\.rs:23:7 failed/);
  assert.match(r.stderr, /index 5 is out of range: the list has 1 element\b/);
});

test('a list of another length than the Rust code expects fails at its line (JsArray::expect_len)', async (t) => {
  const children = [
    APP,
    STACK,
    { op: 'new', fqn: 'aws-cdk-lib.aws_s3.Bucket', args: [{ $ref: 1 }, 'Data'], site: site(20) },
    { op: 'get', target: 2, property: 'node', site: site(21) },
    { op: 'get', target: 3, property: 'children', site: site(22) },
  ];
  const wrong = await runShim(program([
    ...children,
    { op: 'length', target: 4, length: 2, site: site(30, 'stacks/src/storage.rs', 9) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(wrong.code, 3, wrong.stderr);
  assert.match(wrong.stderr, /operation #5 \(length of #4 \(expect 2\)\) recorded at stacks\/src\/storage\.rs:30:9 failed/);
  assert.match(wrong.stderr, /the list has 1 element, but the Rust code expects 2 \(expect_len\)/);
  const right = await runShim(program([
    ...children,
    { op: 'length', target: 4, length: 1, site: site(30) },
    { op: 'get', target: 5, property: '0', site: site(30) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(right.code, 0, right.stderr);
});

test('a length op is validated like the others', async (t) => {
  const r = await runShim(program([
    APP,
    { op: 'length', target: 0, length: -1, site: site(5) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /"length" must be a non-negative integer/);
});

test('an optional result that is not there fails at the Rust line that expects it (JsOptional::expect)', async (t) => {
  const cluster = [
    APP,
    STACK,
    { op: 'new', fqn: 'aws-cdk-lib.aws_ecs.Cluster', args: [{ $ref: 1 }, 'Cluster'], site: site(20) },
    { op: 'get', target: 2, property: 'defaultCloudMapNamespace', site: site(21, 'stacks/src/app.rs', 5) },
  ];
  const missing = await runShim(program([
    ...cluster,
    { op: 'defined', target: 3, message: 'the cluster has a namespace', site: site(22, 'stacks/src/app.rs', 9) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /operation #4 \(defined #3\) recorded at stacks\/src\/app\.rs:22:9 failed/);
  assert.match(missing.stderr, /the result of operation #3 \(get defaultCloudMapNamespace of #2 \(aws-cdk-lib\.aws_ecs\.Cluster\)\), recorded at stacks\/src\/app\.rs:21:5, is undefined: the cluster has a namespace/);
  // Without the check, the later use names the optional result and where it was read.
  const unchecked = await runShim(program([
    ...cluster,
    { op: 'get', target: 3, property: 'namespaceArn', site: site(23) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(unchecked.code, 3, unchecked.stderr);
  assert.match(unchecked.stderr, /its target, the result of operation #3 \(get defaultCloudMapNamespace of #2 .*\), recorded at stacks\/src\/app\.rs:21:5, is undefined \(an optional result: check it with JsOptional::expect/);
  const present = await runShim(program([
    APP,
    STACK,
    { op: 'get', target: 1, property: 'stackName', site: site(20) },
    { op: 'defined', target: 2, message: 'a stack has a name', site: site(21) },
  ]), { outdir: tempOutdir(t) });
  assert.equal(present.code, 0, present.stderr);
});
