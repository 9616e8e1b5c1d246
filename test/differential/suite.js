// The differential suite's infrastructure, written directly against aws-cdk-lib in JavaScript.
//
// test/tests/differential_suite.rs writes the same app through the Rust bindings; the test there
// requires byte-identical templates, manifest.json and tree.json. Keep the two line-by-line
// mirrors (same constructs, same order, same ids): the comments name the Rust form each line
// exercises. Maps are written in key order: the Rust bindings record every map (props maps,
// JsAny::map) sorted by key, and aws-cdk-lib keeps an object's key order in the template.
// Also usable as a CDK app on its own:
//   npx cdk synth -a "node test/differential/suite.js"
'use strict';

const cdk = require('aws-cdk-lib');
const { Construct } = require('constructs');
const {
  aws_cloudwatch: cloudwatch,
  aws_cloudwatch_actions: cwActions,
  aws_ec2: ec2,
  aws_ecs: ecs,
  aws_efs: efs,
  aws_elasticloadbalancingv2: elbv2,
  aws_elasticloadbalancingv2_targets: targets,
  aws_iam: iam,
  aws_lambda: lambda,
  aws_logs: logs,
  aws_route53: route53,
  aws_s3: s3,
  aws_secretsmanager: secretsmanager,
  aws_sns: sns,
  aws_sns_subscriptions: subscriptions,
  aws_sqs: sqs,
  aws_ssm: ssm,
} = cdk;

const app = new cdk.App();
const stack = new cdk.Stack(app, 'DifferentialSuite', {
  description: 'cdk-from-rust differential suite',
  tags: { Owner: 'platform', Suite: 'differential' }, // a map of strings
});
cdk.Tags.of(stack).add('CostCenter', '42'); // static method, then a call on its result
const network = new Construct(stack, 'Network'); // constructs.Construct as a plain scope

// ec2: a static factory, an enum inside an array of structs, a list read by index and length.
const vpc = new ec2.Vpc(network, 'Vpc', {
  ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
  maxAzs: 2,
  natGateways: 0,
  restrictDefaultSecurityGroup: false,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
    { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
  ],
});
const sg = new ec2.SecurityGroup(network, 'ServiceSg', { vpc, allowAllOutbound: false });
sg.addIngressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(8080), 'from the VPC');
// A non-trailing undefined argument (raw call_op with Value::undefined()).
sg.addIngressRule(ec2.Peer.ipv4('10.99.0.0/16'), ec2.Port.tcpRange(9000, 9001), undefined, false);
for (const subnet of vpc.publicSubnets) { // expect_len(2)
  sg.node.addDependency(subnet);
}
new cdk.CfnOutput(stack, 'FirstIsolatedSubnet', { value: vpc.isolatedSubnets[0].subnetId }); // at(0)

// iam: principals, a statement with an enum, a condition map holding a token, a managed policy.
const role = new iam.Role(stack, 'TaskRole', {
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  description: 'the suite task role',
  maxSessionDuration: cdk.Duration.hours(2),
  managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchAgentServerPolicy')],
});
const statement = new iam.PolicyStatement({
  effect: iam.Effect.ALLOW,
  actions: ['ssm:GetParameter'],
  resources: ['*'],
});
statement.addCondition('StringEquals', { 'aws:PrincipalAccount': cdk.Aws.ACCOUNT_ID }); // JsAny::map, a static-get token
statement.addCondition('ForAnyValue:StringLike', { 'aws:RequestTag/Env': ['dev', 'prod'] }); // JsAny::list
role.addToPolicy(statement);
role.grantAssumeRole(new iam.ArnPrincipal('arn:aws:iam::111111111111:role/Operator'));

// efs: enums, a file system and an access point (a method result passed on).
const fileSystem = new efs.FileSystem(stack, 'Files', {
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
  throughputMode: efs.ThroughputMode.BURSTING,
  lifecyclePolicy: efs.LifecyclePolicy.AFTER_14_DAYS,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
  encrypted: true,
});
const accessPoint = fileSystem.addAccessPoint('Data', {
  path: '/data',
  posixUser: { uid: '1000', gid: '1000' },
  createAcl: { ownerUid: '1000', ownerGid: '1000', permissions: '750' },
});
fileSystem.connections.allowDefaultPortFrom(sg); // a property result, then an interface conversion

// secrets, parameters, logs.
const secret = new secretsmanager.Secret(stack, 'ApiKey', {
  generateSecretString: { excludePunctuation: true, passwordLength: 32 },
});
const parameter = new ssm.StringParameter(stack, 'Endpoint', {
  parameterName: '/suite/endpoint',
  stringValue: 'https://example.com',
  tier: ssm.ParameterTier.STANDARD,
});
const logGroup = new logs.LogGroup(stack, 'Logs', {
  retention: logs.RetentionDays.TWO_WEEKS,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});

// ecs: static factories, maps of strings and of secrets, a volume, a service.
const cluster = new ecs.Cluster(stack, 'Cluster', {
  vpc,
  containerInsightsV2: ecs.ContainerInsights.ENABLED,
});
const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task', {
  cpu: 256,
  memoryLimitMiB: 512,
  taskRole: role,
  runtimePlatform: {
    cpuArchitecture: ecs.CpuArchitecture.ARM64, // static-get
    operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
  },
});
taskDefinition.addVolume({
  name: 'data',
  efsVolumeConfiguration: {
    fileSystemId: fileSystem.fileSystemId,
    transitEncryption: 'ENABLED',
    authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
  },
});
const container = taskDefinition.addContainer('app', {
  image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27'),
  environment: { ENDPOINT_PARAMETER: parameter.parameterName, LOG_LEVEL: 'info' }, // key order (see the top)
  secrets: {
    API_KEY: ecs.Secret.fromSecretsManager(secret),
    ENDPOINT: ecs.Secret.fromSsmParameter(parameter),
  },
  logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'app', logGroup }),
  portMappings: [{ containerPort: 8080, protocol: ecs.Protocol.TCP }],
  essential: true,
});
container.addMountPoints({ containerPath: '/data', sourceVolume: 'data', readOnly: false });
const service = new ecs.FargateService(stack, 'Service', {
  cluster,
  taskDefinition,
  desiredCount: vpc.isolatedSubnets.length, // length() as a numeric token
  assignPublicIp: false,
  securityGroups: [sg],
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  circuitBreaker: { enable: true, rollback: true },
});

// lambda: static-get members, inline code, a map of environment variables, a version's alias.
const fn = new lambda.Function(stack, 'Handler', {
  runtime: lambda.Runtime.NODEJS_24_X, // static-get
  architecture: lambda.Architecture.ARM_64, // static-get
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "ok" });'),
  timeout: cdk.Duration.seconds(10),
  memorySize: 256,
  environment: { BUCKET_REGION: cdk.Aws.REGION, TABLE: 'none' },
  tracing: lambda.Tracing.ACTIVE,
});
// The escape hatch for a method: addEnvironment through call_unbound.
fn.addEnvironment('SERVICE_NAME', service.serviceName);
const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });

// elbv2 and its targets: an ALB with a default fixed response, a rule to the ECS service, a rule
// to the Lambda function; an NLB with IP targets.
const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
const listener = alb.addListener('Http', {
  protocol: elbv2.ApplicationProtocol.HTTP,
  port: 80,
  defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'no route' }),
});
const serviceGroup = listener.addTargets('Service', {
  priority: 10,
  conditions: [elbv2.ListenerCondition.pathPatterns(['/app/*'])],
  port: 8080,
  protocol: elbv2.ApplicationProtocol.HTTP,
  targets: [service],
  healthCheck: { path: '/health', interval: cdk.Duration.seconds(15), healthyHttpCodes: '200-299' },
  deregistrationDelay: cdk.Duration.seconds(5),
});
listener.addTargets('Function', {
  priority: 20,
  conditions: [elbv2.ListenerCondition.pathPatterns(['/fn/*'])],
  targets: [new targets.LambdaTarget(alias)],
});
const nlb = new elbv2.NetworkLoadBalancer(stack, 'Nlb', {
  vpc,
  internetFacing: false,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
});
const ipGroup = new elbv2.NetworkTargetGroup(stack, 'IpTargets', {
  vpc,
  port: 5432,
  protocol: elbv2.Protocol.TCP,
  targetType: elbv2.TargetType.IP,
  targets: [new targets.IpTarget('10.20.2.10', 5432), new targets.IpTarget('10.20.3.10')],
});
nlb.addListener('Postgres', { port: 5432, defaultTargetGroups: [ipGroup] });

// route53 (an A record from a variadic static method).
const zone = new route53.PrivateHostedZone(stack, 'Zone', { zoneName: 'suite.internal', vpc });
new route53.ARecord(stack, 'AppRecord', {
  zone,
  recordName: 'app',
  target: route53.RecordTarget.fromIpAddresses('10.20.1.10', '10.20.1.11'),
});
new route53.CnameRecord(stack, 'NlbName', {
  zone,
  recordName: 'db',
  domainName: nlb.loadBalancerDnsName,
  ttl: cdk.Duration.minutes(1),
});

// sns, sqs, and the escape hatch for a class of a module without bindings.
const topic = new sns.Topic(stack, 'Alerts', { displayName: 'suite alerts' });
const queue = new sqs.Queue(stack, 'AlertQueue', {
  retentionPeriod: cdk.Duration.days(4),
  encryption: sqs.QueueEncryption.SQS_MANAGED,
});
topic.addSubscription(new subscriptions.SqsSubscription(queue, { rawMessageDelivery: true }));

// cloudwatch: metrics (a method result and a constructed one), a float threshold, enums, an
// action from another module, a dashboard.
const cpu = service.metricCpuUtilization({ period: cdk.Duration.minutes(1), statistic: 'Average' });
const alarm = new cloudwatch.Alarm(stack, 'CpuHigh', {
  metric: cpu,
  threshold: 87.5,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
});
alarm.addAlarmAction(new cwActions.SnsAction(topic));
const errors = new cloudwatch.Metric({
  namespace: 'AWS/Lambda',
  metricName: 'Errors',
  dimensionsMap: { FunctionName: fn.functionName },
  statistic: cloudwatch.Stats.SUM,
  period: cdk.Duration.minutes(5),
  unit: cloudwatch.Unit.COUNT,
});
const errorsAlarm = errors.createAlarm(stack, 'FunctionErrors', { threshold: 1, evaluationPeriods: 1 });
errorsAlarm.addAlarmAction(new cwActions.LambdaAction(alias)); // a union of interfaces
const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', { dashboardName: 'suite' });
dashboard.addWidgets(
  new cloudwatch.GraphWidget({ title: 'CPU', left: [cpu], right: [errors], width: 12 }),
  new cloudwatch.TextWidget({ markdown: '# Suite', width: 12, height: 2 }),
);

// s3 and L1 unions: a bucket whose CloudFormation resource gets literal JSON, a queue of the L1
// kind with a bool and an IResolvable in union props.
const bucket = new s3.Bucket(stack, 'Artifacts', {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, // static-get
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  removalPolicy: cdk.RemovalPolicy.RETAIN,
});
bucket.grantRead(role); // an interface conversion (Role -> IGrantable)
const cfnBucket = bucket.node.defaultChild;
cfnBucket.addPropertyOverride('AnalyticsConfigurations', [{ Id: 'all', StorageClassAnalysis: {} }]); // $literal
const isProd = new cdk.CfnCondition(stack, 'IsProd', {
  expression: cdk.Fn.conditionEquals(cdk.Aws.ACCOUNT_ID, '111111111111'),
});
new sqs.CfnQueue(stack, 'RawQueue', {
  fifoQueue: false, // union: the boolean member
  sqsManagedSseEnabled: cdk.Fn.conditionIf(isProd.logicalId, true, false), // union: IResolvable
  delaySeconds: 5,
  redrivePolicy: { deadLetterTargetArn: queue.queueArn, maxReceiveCount: 3 },
});

// Construct metadata (in DifferentialSuite.metadata.json), outputs.
stack.node.addMetadata('suite:note', { purpose: 'differential', cases: [1, 2.5, true] }); // $literal
stack.node.addMetadata('suite:raw', { owner: null, ratio: 0.25 }); // null, through the raw call_op
new cdk.CfnOutput(stack, 'AlbDns', {
  value: alb.loadBalancerDnsName,
  description: 'the ALB',
  exportName: 'SuiteAlbDns',
});
new cdk.CfnOutput(stack, 'ServiceGroupFullName', { value: serviceGroup.targetGroupFullName });
// A property of a method's result (a struct: JsAny::get), passed to a property override.
nlb.node.defaultChild.addPropertyOverride(
  'Subnets',
  vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
);

app.synth();
