// aws-cdk's integration test `integ.alb.ts` (aws-elasticloadbalancingv2: an internet-facing ALB,
// one listener, two target groups of IP targets, an alarm on each group's response time),
// written against aws-cdk-lib in JavaScript. test/tests/integ_alb.rs is its Rust translation; the
// test there requires byte-identical templates. One change from the TypeScript: the conditional
// group's `hostHeader` (deprecated, absent from the .jsii, so the Rust bindings cannot set it) is
// written as `conditions: [ListenerCondition.hostHeaders([...])]`, on both sides.
'use strict';

const cdk = require('aws-cdk-lib');
const { aws_ec2: ec2, aws_elasticloadbalancingv2: elbv2 } = cdk;

const app = new cdk.App();
const stack = new cdk.Stack(app, 'aws-cdk-elbv2-integ');
const vpc = new ec2.Vpc(stack, 'VPC', { restrictDefaultSecurityGroup: false, maxAzs: 2 });
const lb = new elbv2.ApplicationLoadBalancer(stack, 'LB', { vpc, internetFacing: true });
const listener = lb.addListener('Listener', { port: 80 });

const plain = listener.addTargets('Target', {
  port: 80,
  targets: [new elbv2.IpTarget('10.0.128.6')],
  stickinessCookieDuration: cdk.Duration.minutes(5),
});
const conditional = listener.addTargets('ConditionalTarget', {
  priority: 10,
  conditions: [elbv2.ListenerCondition.hostHeaders(['example.com'])],
  port: 80,
  targets: [new elbv2.IpTarget('10.0.128.5')],
  stickinessCookieDuration: cdk.Duration.minutes(5),
  stickinessCookieName: 'MyDeliciousCookie',
  slowStart: cdk.Duration.minutes(1),
});

for (const [group, id] of [[plain, 'ResponseTimeHigh1'], [conditional, 'ResponseTimeHigh2']]) {
  group.metricTargetResponseTime().createAlarm(stack, id, { threshold: 5, evaluationPeriods: 2 });
}
for (const subnet of vpc.publicSubnets) {
  conditional.node.addDependency(subnet);
  plain.node.addDependency(subnet);
}

app.synth();
