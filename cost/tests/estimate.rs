//! The estimate of a small template, against figures computed by hand from cost/prices.json's
//! eu-west-1 prices (2026-12-06) and the default assumptions (730 h a month).

use serde_json::Value;
use tracker_cost::{difference, estimate, Assumptions, PriceTable};

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/small.template.json")).unwrap()
}

fn cents(usd: f64) -> i64 {
    (usd * 100.0).round() as i64
}

fn line<'a>(e: &'a tracker_cost::Estimate, logical_id: &str) -> Vec<&'a tracker_cost::Line> {
    e.lines
        .iter()
        .filter(|l| l.logical_id == logical_id)
        .collect()
}

#[test]
fn a_small_template_costs_what_the_hand_computation_says() {
    let t = fixture();
    let e = estimate(
        &[("Small", &t)],
        "eu-west-1",
        &PriceTable::committed(),
        &Assumptions::default(),
    )
    .unwrap();
    let usd = |id: &str| line(&e, id).iter().map(|l| l.monthly_usd).sum::<f64>();
    // NAT: 730 h x $0.048 = $35.04, + 100 GB x $0.048 = $4.80 -> $39.84.
    assert_eq!(cents(usd("Nat")), 3984);
    // Its address: 730 h x $0.005 = $3.65.
    assert_eq!(cents(usd("NatIp")), 365);
    // Interface endpoint in 2 AZs: 2 x 730 x $0.011 = $16.06, + 10 GB x $0.01 = $0.10 -> $16.16.
    assert_eq!(cents(usd("Endpoint")), 1616);
    // The gateway endpoint is free: no line.
    assert!(line(&e, "S3Endpoint").is_empty());
    // ALB: 730 x ($0.0252 + 1 LCU x $0.008) = 730 x $0.0332 = $24.236.
    assert!((usd("Alb") - 24.236).abs() < 1e-9);
    // Api: 3 tasks of 0.5 vCPU / 1 GB x86: 0.5 x $0.04048 + 1 x $0.004445 = $0.024685 a task-hour;
    // base 1 on FARGATE, the other 2 split 1:3, so 1.5 of 3 tasks (50 %) on Spot at 70 % off:
    // 3 x 730 x $0.024685 x (1 - 0.5 x 0.7) = $54.06015 x 0.65 = $35.1390975.
    assert!((usd("Api") - 35.139_097_5).abs() < 1e-9);
    assert!(line(&e, "Api")[0].detail.contains("50% on Spot"));
    // Worker: 1 task of 0.25 vCPU / 0.5 GB ARM64, launch type FARGATE (no Spot):
    // 730 x (0.25 x $0.03238 + 0.5 x $0.00356) = 730 x $0.009875 = $7.20875.
    assert!((usd("Worker") - 7.208_75).abs() < 1e-9);
    // t4g.large: 730 x $0.0736 = $53.728; its 30 GB gp3 root: 30 x $0.088 = $2.64.
    assert!((usd("Host") - (53.728 + 2.64)).abs() < 1e-9);
    // A 50 GB gp3 volume: 50 x $0.088 = $4.40.
    assert_eq!(cents(usd("HostData")), 440);
    // A secret $0.40, two alarms 2 x $0.10.
    assert_eq!(cents(usd("Secret")), 40);
    assert_eq!(cents(usd("Alarm1") + usd("Alarm2")), 20);
    // The IAM role costs nothing.
    assert!(line(&e, "Role").is_empty());
    // Total: 39.84 + 3.65 + 16.16 + 24.236 + 35.1390975 + 7.20875 + 56.368 + 4.40 + 0.40 + 0.20
    //      = $187.6018475.
    assert!((e.total() - 187.601_847_5).abs() < 1e-9, "{}", e.total());
    let json = e.to_json();
    assert_eq!(json["monthlyTotal"], 187.6);
    assert_eq!(json["region"], "eu-west-1");
    assert_eq!(json["priceDate"], PriceTable::committed().date.as_str());
    // By kind, largest first: EC2 instance $53.73, Fargate tasks $35.14 + $7.21 = $42.35, NAT.
    let kinds = e.by_kind();
    assert_eq!(kinds[0].kind, "EC2 instance");
    assert_eq!(kinds[1].kind, "Fargate task");
    assert_eq!(cents(kinds[1].monthly_usd), 4235);
    assert_eq!(kinds[1].count, 4.0);
    // By construct: Network = NAT + address + endpoint = 39.84 + 3.65 + 16.16 = $59.65.
    let network = e
        .by_construct()
        .into_iter()
        .find(|(_, c, _)| c == "Network")
        .unwrap();
    assert_eq!(cents(network.2), 5965);
    let text = e.render_text();
    assert!(text.contains("$187.60/month"), "{text}");
    assert!(text.contains("natGbPerGateway = 100"), "{text}");
}

#[test]
fn assumptions_are_overridden_and_bad_ones_are_all_reported() {
    let t = fixture();
    let a = Assumptions::default()
        .with_overrides(&[
            "natGbPerGateway=1000".into(),
            "fargateSpotDiscount=0".into(),
        ])
        .unwrap();
    let e = estimate(&[("Small", &t)], "eu-west-1", &PriceTable::committed(), &a).unwrap();
    let usd = |id: &str| {
        e.lines
            .iter()
            .filter(|l| l.logical_id == id)
            .map(|l| l.monthly_usd)
            .sum::<f64>()
    };
    // 730 x $0.048 + 1000 GB x $0.048 = $35.04 + $48.00 = $83.04.
    assert_eq!(cents(usd("Nat")), 8304);
    // No Spot discount: 3 x 730 x $0.024685 = $54.06015.
    assert!((usd("Api") - 54.060_15).abs() < 1e-9);

    let err = Assumptions::default()
        .with_overrides(&["natGb=1".into(), "albLcu=-1".into(), "efsGb".into()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("natGb: not an assumption; one of hoursPerMonth"),
        "{err}"
    );
    assert!(err.contains("albLcu=-1: a non-negative number"), "{err}");
    assert!(err.contains("\"efsGb\": expected KEY=VALUE"), "{err}");
}

#[test]
fn a_region_or_instance_type_without_a_price_is_an_error_naming_each() {
    let t = fixture();
    let err = estimate(
        &[("Small", &t)],
        "ap-south-2",
        &PriceTable::committed(),
        &Assumptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("vpc.nat-hour in ap-south-2"), "{err}");
    assert!(err.contains("ec2.hour.t4g.large in ap-south-2"), "{err}");
}

#[test]
fn the_difference_names_the_kind_the_count_and_the_dollars() {
    let before = fixture();
    let mut after = before.clone();
    let resources = after["Resources"].as_object_mut().unwrap();
    for id in ["Nat2", "Nat3"] {
        resources.insert(id.into(), before["Resources"]["Nat"].clone());
    }
    resources.remove("Secret");
    let prices = PriceTable::committed();
    let a = Assumptions::default();
    let b = estimate(&[("Small", &before)], "eu-west-1", &prices, &a).unwrap();
    let c = estimate(&[("Small", &after)], "eu-west-1", &prices, &a).unwrap();
    let d = difference(&b, &c);
    let lines: Vec<String> = d.iter().map(|k| k.describe()).collect();
    // 2 x $39.84 = $79.68 more; one secret ($0.40) less.
    assert_eq!(
        lines,
        [
            "+2 NAT gateways: +$79.68/month",
            "-1 Secrets Manager secret: -$0.40/month"
        ]
    );
    assert!(difference(&b, &b).is_empty());
}

#[test]
fn every_price_names_its_source_and_both_regions_price_the_same_keys() {
    let t = PriceTable::committed();
    assert!(t.date.len() == 10 && t.date.starts_with("20"), "{}", t.date);
    let keys: Vec<Vec<&String>> = t.regions.values().map(|r| r.keys().collect()).collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    for (region, prices) in &t.regions {
        for (key, p) in prices {
            assert!(
                p.source.starts_with("https://aws.amazon.com/"),
                "{region} {key}"
            );
            assert!(p.usd > 0.0 && !p.unit.is_empty(), "{region} {key}");
        }
    }
}

#[test]
fn weekly_task_averages_follow_the_schedules() {
    use serde_json::json;
    use tracker_cost::{cron_week_minutes, weekly_tasks};
    // Staging's default off hours: down at 20:00 and up at 07:00 on weekdays, min 0: on from
    // Monday to Friday 07:00-20:00, 13 h x 5 = 65 h of the week's 168 h.
    let off_hours = json!([
        {"Schedule": "cron(0 20 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0}},
        {"Schedule": "cron(0 7 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1}}
    ]);
    assert!((weekly_tasks(&off_hours, 1.0).unwrap() - 65.0 / 168.0).abs() < 1e-12);
    // Every night 22:00-06:00 at one task, by day the desired two: (8 x 1 + 16 x 2) / 24.
    let nightly = json!([
        {"Schedule": "cron(0 22 ? * * *)", "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1}},
        {"Schedule": "cron(0 6 ? * * *)", "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 4}}
    ]);
    assert!((weekly_tasks(&nightly, 2.0).unwrap() - 40.0 / 24.0).abs() < 1e-12);
    // Numbered days (1 = Sunday) and lists; Monday 00:00 is minute 0.
    assert_eq!(cron_week_minutes("cron(30 1 ? * 2 *)").unwrap(), [90]);
    assert_eq!(
        cron_week_minutes("cron(0 0 ? * SAT,1 *)").unwrap(),
        [5 * 1440, 6 * 1440]
    );
    // Forms not modelled are said, not guessed.
    let err = weekly_tasks(
        &json!([{"Schedule": "rate(1 hour)", "ScalableTargetAction": {"MinCapacity": 0}}]),
        1.0,
    )
    .unwrap_err();
    assert!(err.contains("rate(1 hour)"), "{err}");
    assert!(cron_week_minutes("cron(0/15 * ? * * *)").is_err());
}

#[test]
fn a_service_scaled_down_off_hours_is_priced_for_its_hours() {
    use serde_json::json;
    let mut t = fixture();
    t["Resources"]["WorkerTarget"] = json!({
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {
            "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": {"Fn::Join": ["", ["service/c/", {"Fn::GetAtt": ["Worker", "Name"]}]]},
            "MinCapacity": 1, "MaxCapacity": 1,
            "ScheduledActions": [
                {"Schedule": "cron(0 20 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0}},
                {"Schedule": "cron(0 7 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1}}
            ]
        }
    });
    let e = estimate(
        &[("Small", &t)],
        "eu-west-1",
        &PriceTable::committed(),
        &Assumptions::default(),
    )
    .unwrap();
    // The worker ($7.20875 around the clock) runs 65 of 168 hours: $2.789101190...
    let worker = line(&e, "Worker");
    assert!(
        (worker[0].monthly_usd - 7.208_75 * 65.0 / 168.0).abs() < 1e-9,
        "{}",
        worker[0].monthly_usd
    );
    assert!(
        worker[0]
            .detail
            .contains("on a schedule: 0.39 task(s) on average (39% of the time at 1)"),
        "{}",
        worker[0].detail
    );
    // The api, which no target schedules, is unchanged.
    assert!((line(&e, "Api")[0].monthly_usd - 35.139_097_5).abs() < 1e-9);
}
