#!/usr/bin/env python3
"""Synthesis benchmarks (medians of N runs; not a test): run `python3 bench/synth.py [N]`.

1. The tracker app (TrackerRegistry and each environment's data and services stacks) through the CDK CLI as users
   run it, through the built binary, and the Program recording alone.
2. The sample stack synthesized through Rust (bridge + shim) against the same stack written directly
   in JavaScript, through the CDK CLI and directly.
3. Growth with the number of services (stacks/examples/scale.rs: N private workers, 40 a services
   stack beside one data stack, each stack checked against 80 % of the CloudFormation quotas).
Build first (`cargo build -p tracker-cdk -p tracker-stacks --examples`); numbers go into closing notes, not
assertions.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ENV = dict(os.environ, CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="1")
BIN = os.path.join(ROOT, "target", "debug", "tracker-cdk")
SAMPLE = os.path.join(ROOT, "target", "debug", "examples", "sample")
SCALE = os.path.join(ROOT, "target", "debug", "examples", "scale")


def median_seconds(cmd, env=None):
    samples = []
    for _ in range(N):
        with tempfile.TemporaryDirectory() as out:
            full = [c.replace("{out}", out) for c in cmd]
            start = time.perf_counter()
            subprocess.run(full, cwd=ROOT, env=dict(ENV, CDK_OUTDIR=out, **(env or {})), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


CASES = [
    ("tracker app: npx cdk synth (cdk.json: cargo run, warm build)", ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}"]),
    ("tracker app: npx cdk synth -a built binary", ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}", "-a", BIN + " synth"]),
    ("tracker app: tracker-cdk synth (no CLI)", [BIN, "synth", "--out", "{out}"]),
    ("tracker app: tracker-cdk program (record only)", [BIN, "program"]),
    ("sample: npx cdk synth -a Rust example", ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}", "-a", SAMPLE]),
    ("sample: npx cdk synth -a JavaScript app", ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}", "-a", "node test/differential/sample.js"]),
    ("sample: Rust example (no CLI)", [SAMPLE]),
    ("sample: node sample.js (no CLI)", ["node", "test/differential/sample.js"]),
    ("sample: record the Program only", [SAMPLE, "--program"]),
] + [
    (f"growth: Network + Platform + {n} workers, synth (no CLI)", [SCALE, str(n)]) for n in (1, 8, 32)
] + [
    (f"growth: {n} workers, record the Program only", [SCALE, str(n), "--program"]) for n in (1, 32)
]

if __name__ == "__main__":
    print(f"medians of {N} runs, {os.cpu_count()} cores")
    for name, cmd in CASES:
        print(f"{median_seconds(cmd):7.3f} s  {name}", flush=True)
