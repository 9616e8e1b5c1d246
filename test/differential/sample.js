// The sample infrastructure written directly against aws-cdk-lib in JavaScript.
//
// It must stay a line-by-line mirror of stacks/src/sample.rs: the differential test synthesizes
// both and asserts byte-identical templates. Also usable as a CDK app on its own:
//   npx cdk synth -a "node test/differential/sample.js"
'use strict';

const cdk = require('aws-cdk-lib');
const {
  aws_ec2: ec2,
  aws_ecs: ecs,
  aws_efs: efs,
  aws_elasticloadbalancingv2: elbv2,
  aws_secretsmanager: secretsmanager,
  aws_cloudwatch: cloudwatch,
} = cdk;

function sample(app) {
  const stack = new cdk.Stack(app, 'SampleStack', {
    description: 'cdk-from-rust sample: one Fargate service behind an ALB',
  });

  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
  });
  const cluster = new ecs.Cluster(stack, 'Cluster', {
    vpc,
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });
  const secret = new secretsmanager.Secret(stack, 'ApiSecret', { description: 'API signing key' });

  const fileSystem = new efs.FileSystem(stack, 'State', {
    vpc,
    encrypted: true,
    removalPolicy: cdk.RemovalPolicy.RETAIN,
  });
  const accessPoint = fileSystem.addAccessPoint('StateAccess', {
    path: '/state',
    posixUser: { uid: '1000', gid: '1000' },
    createAcl: { ownerUid: '1000', ownerGid: '1000', permissions: '750' },
  });

  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task', { cpu: 512, memoryLimitMiB: 1024 });
  taskDefinition.addVolume({
    name: 'state',
    efsVolumeConfiguration: {
      fileSystemId: fileSystem.fileSystemId,
      transitEncryption: 'ENABLED',
      authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
    },
  });
  const container = taskDefinition.addContainer('api', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27'),
    environment: { LOG_LEVEL: 'info' },
    secrets: { API_KEY: ecs.Secret.fromSecretsManager(secret) },
    portMappings: [{ containerPort: 8000, protocol: ecs.Protocol.TCP }],
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'api' }),
  });
  container.addMountPoints({ containerPath: '/state', sourceVolume: 'state', readOnly: false });

  const service = new ecs.FargateService(stack, 'Service', {
    cluster,
    taskDefinition,
    desiredCount: 2,
    minHealthyPercent: 100,
    circuitBreaker: { enable: true, rollback: true },
  });
  fileSystem.connections.allowDefaultPortFrom(service);

  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
  const listener = alb.addListener('Http', {
    port: 80,
    open: true,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  listener.addTargets('Api', {
    priority: 10,
    conditions: [elbv2.ListenerCondition.hostHeaders(['api.example.com'])],
    port: 8000,
    protocol: elbv2.ApplicationProtocol.HTTP,
    targets: [service],
    healthCheck: {
      path: '/health',
      interval: cdk.Duration.seconds(30),
      timeout: cdk.Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    },
  });

  const scaling = service.autoScaleTaskCount({ minCapacity: 2, maxCapacity: 6 });
  scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

  new cloudwatch.Alarm(stack, 'HighCpu', {
    metric: service.metricCpuUtilization({ period: cdk.Duration.minutes(1) }),
    threshold: 90,
    evaluationPeriods: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  });
  new cdk.CfnOutput(stack, 'Url', { value: alb.loadBalancerDnsName });
  return stack;
}

module.exports = { sample };

if (require.main === module) {
  const app = new cdk.App();
  sample(app);
  app.synth();
}
