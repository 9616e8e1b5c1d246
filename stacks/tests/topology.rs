//! The environment's picture (`tracker-cdk diagram`): its graph against what the stacks deploy,
//! its content (every service and declared edge in the DOT and the SVG, not pixels), and the
//! committed pictures in docs/diagrams/ against a fresh drawing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tracker_stacks::settings::SERVICES;
use tracker_stacks::topology::{self, topology, Format};
use tracker_stacks::{cdk_json_context, AppSettings, Environment, Settings};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Both environments' settings from cdk.json's context: what the goldens are synthesized with
/// and what `make diagrams` draws.
fn settings() -> AppSettings {
    AppSettings::from_context(&cdk_json_context(&repo().join("cdk.json")).unwrap()).unwrap()
}

fn each(settings: &AppSettings) -> [(Environment, &Settings); 2] {
    [
        (Environment::Staging, &settings.staging),
        (Environment::Production, &settings.production),
    ]
}

/// The `<consumer> -> <endpoint>:<port>` descriptions of the security-group rules in the
/// environment's golden templates: what `connects_to` deployed (wiring::connect writes them).
fn deployed_edges(env: Environment) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for stack in [env.data_stack_name(), env.stack_name()] {
        let path = repo().join(format!("stacks/golden/{stack}.template.json"));
        let t: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for r in t["Resources"].as_object().unwrap().values() {
            let ingress = match r["Type"].as_str() {
                Some("AWS::EC2::SecurityGroupIngress") => vec![r["Properties"].clone()],
                Some("AWS::EC2::SecurityGroup") => r["Properties"]["SecurityGroupIngress"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                _ => continue,
            };
            for rule in ingress {
                let Some(d) = rule["Description"].as_str() else {
                    continue;
                };
                if let Some((consumer, target)) = d.split_once(" -> ") {
                    if target.contains(':') {
                        edges.insert((consumer.to_string(), target.to_string()));
                    }
                }
            }
        }
    }
    edges
}

#[test]
fn the_declared_edges_are_exactly_the_deployed_security_group_rules() {
    let settings = settings();
    for (env, s) in each(&settings) {
        let drawn: BTreeSet<(String, String)> = topology(s).declared_edges().into_iter().collect();
        let deployed = deployed_edges(env);
        assert!(deployed.len() >= 10, "{env}: {deployed:?}");
        assert_eq!(
            drawn, deployed,
            "{env}: the topology's declared edges differ from the templates' rules"
        );
    }
}

#[test]
fn every_service_and_every_declared_edge_is_in_the_dot_and_the_svg() {
    let settings = settings();
    for (env, s) in each(&settings) {
        let t = topology(s);
        let dot = t.to_dot();
        let svg = String::from_utf8(topology::draw(s, Format::Svg).unwrap()).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{env}");
        for service in SERVICES {
            assert!(
                dot.contains(&format!("\"{service}\" [label=\"{service} ")),
                "{env}: {service} is not a node of the DOT"
            );
            assert!(
                svg.contains(&format!(">{service} ")),
                "{env}: {service} is not drawn"
            );
        }
        for (consumer, target) in t.declared_edges() {
            let endpoint = target.split(':').next().unwrap();
            let edge =
                format!("\"{consumer}\" -> \"{endpoint}\" [label=\"{target}\", style=solid]");
            assert!(dot.contains(&edge), "{env}: {edge} is not in the DOT");
        }
        // Each edge's label is drawn once per edge.
        let mut labels = std::collections::BTreeMap::<String, usize>::new();
        for e in &t.edges {
            *labels.entry(e.label()).or_default() += 1;
        }
        for (label, n) in labels {
            let drawn = svg.matches(&format!(">{label}<")).count();
            assert_eq!(
                drawn, n,
                "{env}: the label {label} is drawn {drawn} times, not {n}"
            );
        }
        // The data plane of each environment, the ALB's hosts, Anisette's file system, the sites.
        for line in [
            "ALB (HTTPS 443)",
            "Anisette EFS",
            "Docs: CloudFront",
            "Redoc: CloudFront",
            &format!("api.{}", s.domain),
            &format!("admin.{}", s.domain),
        ] {
            assert!(svg.contains(line), "{env}: {line} is not drawn");
        }
        match env {
            Environment::Production => {
                for line in [
                    "db: NLB writer endpoint :5432",
                    "Patroni node 1",
                    "[private subnet, AZ 3]",
                    "[private subnets, 3 AZs]",
                    "redis: ElastiCache Valkey :6379",
                    "3 NAT gateways",
                ] {
                    assert!(svg.contains(line), "{env}: {line} is not drawn");
                }
                assert!(!svg.contains("StagingDataHost"), "{env}");
            }
            Environment::Staging => {
                assert!(svg.contains("StagingDataHost"), "{env}");
                assert!(svg.contains("1 NAT gateway<"), "{env}");
                assert!(svg.contains("[public subnets, 2 AZs]"), "{env}");
                assert!(!svg.contains("Patroni"), "{env}");
            }
        }
    }
}

#[test]
fn a_disabled_service_leaves_the_picture_with_its_edges() {
    let mut ctx = cdk_json_context(&repo().join("cdk.json")).unwrap();
    ctx.insert(
        "staging.disabledServices".into(),
        json!("admin,materialized-view-service"),
    );
    let s = AppSettings::from_context(&ctx).unwrap().staging;
    let t = topology(&s);
    for gone in ["admin", "materialized-view-service"] {
        assert!(t.get(gone).is_none(), "{gone} is still a node");
        assert!(
            !t.edges.iter().any(|e| e.from == gone || e.to == gone),
            "{gone} still has edges"
        );
    }
    assert!(t.get("api").is_some());
    assert!(!t.to_dot().contains("admin.staging"));
}

#[test]
fn configured_queues_and_scheduled_tasks_are_drawn_with_their_edges() {
    let mut ctx = cdk_json_context(&repo().join("cdk.json")).unwrap();
    ctx.insert(
        "staging.queues".into(),
        json!({"notifications": {"consumer": "notification-service", "producers": ["api"]}}),
    );
    ctx.insert(
        "staging.scheduledTasks".into(),
        json!([{"name": "clear-sessions", "service": "api",
                "command": ["python", "manage.py", "clearsessions"],
                "schedule": "cron(0 3 * * ? *)", "timeZone": "Europe/Berlin"}]),
    );
    let t = topology(&AppSettings::from_context(&ctx).unwrap().staging);
    let ids: BTreeSet<&str> = t.nodes.iter().map(|n| n.id.as_str()).collect();
    let edge = |from: &str, to: &str| {
        t.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .map(|e| e.label())
    };
    assert!(ids.contains("notifications-queue"));
    assert_eq!(edge("api", "notifications-queue").as_deref(), Some("sends"));
    assert_eq!(
        edge("notification-service", "notifications-queue").as_deref(),
        Some("receives")
    );
    assert_eq!(
        edge("clear-sessions-schedule", "api").as_deref(),
        Some("on its image")
    );
    for e in &t.edges {
        assert!(
            ids.contains(e.from.as_str()) && ids.contains(e.to.as_str()),
            "{e:?}"
        );
    }
    let dot = t.to_dot();
    assert!(dot.contains("cron(0 3 * * ? *) (Europe/Berlin)"), "{dot}");
    assert!(dot.contains("notifications: SQS queue"), "{dot}");
}

#[test]
fn every_edge_joins_two_nodes_and_ids_are_unique() {
    let settings = settings();
    for (env, s) in each(&settings) {
        let t = topology(s);
        let ids: BTreeSet<&str> = t.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids.len(), t.nodes.len(), "{env}: a node id is used twice");
        for e in &t.edges {
            assert!(
                ids.contains(e.from.as_str()) && ids.contains(e.to.as_str()),
                "{env}: {e:?} joins a node that is not drawn"
            );
        }
    }
}

#[test]
fn the_committed_pictures_are_current() {
    let settings = settings();
    let mut stale = Vec::new();
    for (env, s) in each(&settings) {
        let path = repo().join(format!("docs/diagrams/{env}.svg"));
        let drawn = topology::draw(s, Format::Svg).unwrap();
        if std::fs::read(&path).ok().as_deref() != Some(drawn.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what the stacks' model draws now: run `make diagrams` and commit \
         docs/diagrams/"
    );
}

#[test]
fn stacks_and_environments_name_their_environment() {
    for (name, env) in [
        ("staging", Environment::Staging),
        ("TrackerStaging", Environment::Staging),
        ("TrackerStagingData", Environment::Staging),
        ("production", Environment::Production),
        ("TrackerProduction", Environment::Production),
        ("TrackerProductionData", Environment::Production),
    ] {
        assert_eq!(topology::environment_of(name), Some(env), "{name}");
    }
    assert_eq!(topology::environment_of("TrackerRegistry"), None);
    assert_eq!(
        Format::of_path(Path::new("docs/diagrams/staging.png")),
        Some(Format::Png)
    );
    assert_eq!(Format::of_path(Path::new("x.jpg")), None);
}
