"""The README's alarm tables, generated from the synthesized templates.

Usage: python3 stacks/tools/alarms-table.py stacks/golden  (after `make golden`), then paste the
output under "Alarms" in README.md. Standard library only.
"""
import json, sys
OPS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
       "LessThanOrEqualToThreshold": "<=", "LessThanLowerOrGreaterThanUpperThreshold": "outside"}
root = sys.argv[1]
def text(v):
    if isinstance(v, str): return v
    if isinstance(v, dict) and "Fn::Join" in v:
        return "".join(text(x) if isinstance(x, str) else "…" for x in v["Fn::Join"][1])
    return "…"
for env, stacks in [("staging", ["TrackerStagingData", "TrackerStaging"]), ("production", ["TrackerProductionData", "TrackerProduction"])]:
    rows = []
    for stack in stacks:
        t = json.load(open(f"{root}/{stack}.template.json"))
        for lid, r in t["Resources"].items():
            if r["Type"] != "AWS::CloudWatch::Alarm": continue
            p = r["Properties"]
            path = r["Metadata"]["aws:cdk:path"].split("/", 1)[1].removesuffix("/Resource")
            if "MetricName" in p:
                metric = f'{p["Namespace"]} {p["MetricName"]} ({p.get("Statistic") or p.get("ExtendedStatistic")}, {p["Period"]} s)'
            else:
                exprs = [m.get("Expression") for m in p.get("Metrics", []) if m.get("Expression")]
                metric = "math: " + "; ".join(exprs) if exprs else "metric math"
            periods = p["EvaluationPeriods"]
            dp = p.get("DatapointsToAlarm", periods)
            cond = f'{OPS.get(p["ComparisonOperator"], p["ComparisonOperator"])} {p.get("Threshold", "")}, {dp} of {periods} periods'
            if p.get("TreatMissingData") == "breaching": cond += ", missing data breaches"
            actions = "SNS" + (" + EC2 recover" if "ec2:recover" in json.dumps(p.get("AlarmActions")) else "")
            desc = text(p.get("AlarmDescription", "")).replace("|", "\\|")
            rows.append(f"| `{stack}` `{path}` | {metric} | {cond} | {desc} |")
    print(f"\n**{env}** ({len(rows)} alarms)\n")
    print("| alarm (stack, construct path) | metric | fires when | what it means, what to do |")
    print("|---|---|---|---|")
    print("\n".join(rows))
