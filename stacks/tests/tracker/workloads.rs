//! Work queues (`<env>.queues`) and sidecars (`<env>.<service>.sidecars`) configured through
//! context: where the queue lives, who may do what with it, how its consumer scales, and the
//! sidecar containers' start order; cfn-lint, cdk-nag (at synthesis) and checkov on the result.
//! With the defaults, none of this exists (the goldens hold no queue and one container per task).

use super::*;

/// Production with a `notifications` queue (consumed by notification-service, which autoscales
/// there, sent to by api and unified-geofence) and an OpenTelemetry collector beside api that
/// api waits to be healthy, and one beside the consumer.
fn configured() -> Assembly {
    let mut ctx = context();
    ctx.insert(
        "production.queues".into(),
        json!({"notifications": {
            "consumer": "notification-service",
            "producers": ["api", "unified-geofence"],
            "visibilityTimeoutSecs": 120,
            "messagesPerTask": 50
        }}),
    );
    // A consumer may scale to zero.
    ctx.insert("production.notification-service.minCount".into(), json!(0));
    let collector = json!({
        "name": "otel-collector",
        "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1",
        "cpu": 128,
        "memoryReservationMiB": 256,
        "ports": [4317, 4318],
        "healthCommand": "/healthcheck",
        "serviceWaitsFor": "HEALTHY"
    });
    ctx.insert("production.api.sidecars".into(), json!([collector]));
    // From the command line, a JSON string.
    ctx.insert(
        "production.notification-service.sidecars".into(),
        json!(json!([collector]).to_string()),
    );
    Assembly::of(&ctx)
}

fn configured_assembly() -> &'static Assembly {
    static ASSEMBLY: OnceLock<Assembly> = OnceLock::new();
    ASSEMBLY.get_or_init(configured)
}

fn role_actions(t: &Value, role_path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, policy) in resources(t, "AWS::IAM::Policy") {
        let path = policy["Metadata"]["aws:cdk:path"]
            .as_str()
            .unwrap_or_default();
        if !path.starts_with(role_path) {
            continue;
        }
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
        {
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                _ => vec![],
            };
            for a in actions {
                out.push((a, s["Resource"].to_string()));
            }
        }
    }
    out
}

#[test]
fn defaults_have_no_queue_and_one_container_per_service_task() {
    for (stack, t) in all_templates() {
        assert!(resources(&t, "AWS::SQS::Queue").is_empty(), "{stack}");
        for (id, td) in resources(&t, "AWS::ECS::TaskDefinition") {
            let n = td["Properties"]["ContainerDefinitions"]
                .as_array()
                .unwrap()
                .len();
            assert_eq!(n, 1, "{stack} {id}");
        }
    }
}

#[test]
fn a_configured_queue_lives_in_the_data_stack_and_its_consumer_scales_on_it() {
    let a = configured_assembly();
    let data = a.template("TrackerProductionData");
    let services = a.template("TrackerProduction");
    assert!(resources(&services, "AWS::SQS::Queue").is_empty());
    let queue = by_path(
        &data,
        "TrackerProductionData/Queues/notifications/Queue/Resource",
    );
    let dlq = by_path(
        &data,
        "TrackerProductionData/Queues/notifications/DeadLetterQueue/Resource",
    );
    for q in [queue, dlq] {
        assert_eq!(q["DeletionPolicy"], "Retain");
        assert!(q["Properties"]["KmsMasterKeyId"].is_object());
    }
    assert_eq!(queue["Properties"]["VisibilityTimeout"], 120);
    let key = by_path(
        &data,
        "TrackerProductionData/Queues/notifications/Key/Resource",
    );
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    // Both alarms, in the data stack, to the alert topic there.
    for alarm in ["OldestMessageAlarm", "DeadLetterAlarm"] {
        let a = by_path(
            &data,
            &format!("TrackerProductionData/Queues/notifications/{alarm}/Resource"),
        );
        let actions = a["Properties"]["AlarmActions"].to_string();
        assert!(actions.contains("AlertsTopic"), "{alarm}: {actions}");
    }

    // The consumer: receive/delete (the queue by export), decrypt; scales on depth, not CPU.
    let consumer = role_actions(
        &services,
        "TrackerProduction/NotificationService/TaskDefinition/TaskRole",
    );
    let has = |list: &[(String, String)], action: &str| {
        list.iter()
            .any(|(a, r)| a == action && r.contains("Fn::ImportValue"))
    };
    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:Decrypt"] {
        assert!(has(&consumer, action), "{action}: {consumer:?}");
    }
    assert!(!has(&consumer, "sqs:SendMessage"));
    let policies: Vec<&Value> = resources(&services, "AWS::ApplicationAutoScaling::ScalingPolicy")
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| {
            p["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .starts_with("TrackerProduction/NotificationService/")
        })
        .collect();
    assert!(!policies.is_empty());
    assert!(policies
        .iter()
        .all(|p| p["Properties"]["PolicyType"] == "StepScaling"));
    let target = resources(&services, "AWS::ApplicationAutoScaling::ScalableTarget")
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| {
            t["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .starts_with("TrackerProduction/NotificationService/")
        })
        .unwrap();
    assert_eq!(target["Properties"]["MinCapacity"], 0);
    assert_eq!(target["Properties"]["MaxCapacity"], 4);
    // No task is not an outage for a consumer that may scale to zero.
    let running = resources(&services, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| {
            a["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .starts_with("TrackerProduction/NotificationService/RunningTasksAlarm")
        })
        .count();
    assert_eq!(running, 0);
    assert!(resources(&services, "AWS::CloudWatch::Alarm")
        .iter()
        .any(|(_, a)| {
            a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && a["Properties"]["Threshold"] == 50
        }));

    // The producers: send only; everyone involved has the URL, nobody else.
    for producer in ["Api", "UnifiedGeofence"] {
        let actions = role_actions(
            &services,
            &format!("TrackerProduction/{producer}/TaskDefinition/TaskRole"),
        );
        assert!(has(&actions, "sqs:SendMessage"), "{producer}: {actions:?}");
        assert!(!has(&actions, "sqs:ReceiveMessage"), "{producer}");
    }
    let mut owners: Vec<String> = container_variables(&services)
        .into_iter()
        .filter(|(_, names)| names.iter().any(|n| n == "NOTIFICATIONS_QUEUE_URL"))
        .map(|(path, _)| path)
        .collect();
    owners.sort();
    let td = |id: &str| format!("TrackerProduction/{id}/TaskDefinition/Resource");
    assert_eq!(
        owners,
        [td("Api"), td("NotificationService"), td("UnifiedGeofence")]
    );
}

#[test]
fn a_configured_sidecar_starts_before_its_service_and_logs_beside_it() {
    let t = configured_assembly().template("TrackerProduction");
    for id in ["Api", "NotificationService"] {
        let td = by_path(
            &t,
            &format!("TrackerProduction/{id}/TaskDefinition/Resource"),
        );
        let containers = td["Properties"]["ContainerDefinitions"].as_array().unwrap();
        assert_eq!(containers.len(), 2, "{id}");
        let (app, collector) = (&containers[0], &containers[1]);
        assert_eq!(
            app["DependsOn"],
            json!([{"ContainerName": "otel-collector", "Condition": "HEALTHY"}]),
            "{id}"
        );
        assert_eq!(collector["Name"], "otel-collector");
        assert_eq!(collector["Essential"], false);
        assert_eq!(collector["MemoryReservation"], 256);
        assert_eq!(
            collector["HealthCheck"]["Command"],
            json!(["CMD-SHELL", "/healthcheck"])
        );
        assert_eq!(
            collector["LogConfiguration"]["Options"]["awslogs-group"],
            app["LogConfiguration"]["Options"]["awslogs-group"]
        );
    }
}

#[test]
fn configured_queues_and_sidecars_pass_cfn_lint_and_checkov() {
    // cdk-nag ran at synthesis: an unacknowledged finding would have failed it.
    let a = configured_assembly();
    let files: Vec<PathBuf> = ["TrackerProductionData", "TrackerProduction"]
        .iter()
        .map(|s| a.dir.path().join(format!("{s}.template.json")))
        .collect();
    assert_cfn_lint_clean(&files);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("as-is");
    std::fs::create_dir_all(&folder).unwrap();
    for f in &files {
        std::fs::copy(f, folder.join(f.file_name().unwrap())).unwrap();
    }
    let report = run_checkov(dir.path());
    assert_eq!(checkov_results(&report, "failed_checks", "as-is"), vec![]);
    let passed = checkov_results(&report, "passed_checks", "as-is");
    let queue_checks: BTreeSet<&str> = passed
        .iter()
        .filter(|f| f.1.starts_with("Queuesnotifications"))
        .map(|f| f.2.as_str())
        .collect();
    // CKV_AWS_27: the queues are encrypted with a KMS key.
    assert!(queue_checks.contains("CKV_AWS_27"), "{queue_checks:?}");
}
