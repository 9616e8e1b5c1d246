#!/usr/bin/env python3
"""Synthesis benchmarks (not a test): `python3 bench/synth.py [N] [--only pairs,cases,scale]
[--sizes 1,8,32,128,500] [--scale-runs R]`. Build first:
`cargo build -p tracker-cdk -p tracker-stacks --bins --examples` (debug, as `cdk.json` runs it).

1. Paired ratios: the two sides of each pair run alternately N times (ABBA order, so a drift of the
   machine's load hits both sides alike); each round gives one ratio A/B; printed are the median
   ratio with its min and max, and each side's median time.
   - the sample stack through Rust (bridge + shim) against the same stack in JavaScript (`node`);
   - the tracker app (`tracker-cdk synth`) restored from the synthesis cache against `--no-cache`;
   - CloudFormation validation in parallel against serial (`CDK_FROM_RUST_VALIDATION_JOBS=1`), and
     from a warm validation cache against a cold one: both need the shim's timings
     (`CDK_FROM_RUST_TIMINGS`); a shim without them prints "n/a".
2. Absolute medians of N runs of what users run beside (the CDK CLI, recording alone).
3. Growth with the number of services (stacks/examples/scale.rs: a data stack and N private workers,
   25 a services stack, each stack checked against 80 % of CloudFormation's quotas): time and peak
   memory (ru_maxrss of that process, from wait4) of recording (the Rust process) and of the Node
   shim replaying the recorded Program (one process: replay, synth and validation; the split from
   its timings file), then the marginal cost per service between sizes (fixed costs cancel out).

Every run gets a fresh output directory and a fresh cache directory (XDG_CACHE_HOME), so nothing
is restored that the case does not ask for. A failing command fails the benchmark with its stderr.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug", "tracker-cdk")
SAMPLE = os.path.join(ROOT, "target", "debug", "examples", "sample")
SCALE = os.path.join(ROOT, "target", "debug", "examples", "scale")
SHIM = os.path.join(ROOT, "bridge", "shim", "replay.js")
# Variables that would change what a run measures; each case sets the ones it needs.
CLEARED = ["CDK_OUTDIR", "CDK_CONTEXT_JSON", "CDK_FROM_RUST_TIMINGS", "CDK_FROM_RUST_VALIDATION_JOBS",
           "CDK_FROM_RUST_VALIDATION_CACHE", "CDK_FROM_RUST_NO_VALIDATION_CACHE", "TRACKER_CDK_NO_CACHE",
           "TRACKER_CDK_CACHE_DIR", "CDK_FROM_RUST_SHIM", "CDK_FROM_RUST_RESULT"]
BASE_ENV = {k: v for k, v in os.environ.items() if k not in CLEARED}
BASE_ENV.update(CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="1")
# The largest last/previous ratio of marginal costs still read as linear (the machine's noise).
TOLERANCE = 1.5
NO_TIMINGS = "n/a: shim has no timings (CDK_FROM_RUST_TIMINGS not written)"


class BenchError(Exception):
    pass


class Result:
    def __init__(self, seconds, maxrss_mb, timings, cpu_seconds=0.0):
        self.seconds = seconds
        self.maxrss_mb = maxrss_mb  # the largest of it and its waited-for children (ru_maxrss)
        self.timings = timings  # the shim's CDK_FROM_RUST_TIMINGS object, or None
        self.cpu_seconds = cpu_seconds  # user + system, its children's included


def run(cmd, env=None, stdout_path=None, timings=False):
    """Runs `cmd` in ROOT; returns its wall time, its own peak RSS and the shim's timings."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        timings_file = os.path.join(tmp, "timings.json")
        full_env = dict(BASE_ENV, **(env or {}))
        if timings:
            full_env["CDK_FROM_RUST_TIMINGS"] = timings_file
        err_path = os.path.join(tmp, "stderr")
        with open(err_path, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            with open(err_path, "rb") as err:
                text = err.read().decode("utf-8", "replace")
            tail = text[-4000:] if len(text) > 4000 else text
            raise BenchError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
        data = None
        if timings and os.path.exists(timings_file):
            with open(timings_file) as f:
                data = json.load(f)
        return Result(seconds, usage.ru_maxrss / 1024, data, usage.ru_utime + usage.ru_stime)


def load():
    return "load %.2f %.2f %.2f" % os.getloadavg()


def fmt_ratio(values):
    return f"{statistics.median(values):5.2f} [{min(values):.2f}-{max(values):.2f}]"


# ---------------------------------------------------------------------------------------------
# 1. Paired ratios

def side(cmd, env=None, prepare=None, timings=False):
    return {"cmd": cmd, "env": env or {}, "prepare": prepare, "timings": timings}


def run_side(s, cache):
    with tempfile.TemporaryDirectory(prefix="bench-out-") as out:
        if s["prepare"]:
            s["prepare"](cache)
        cmd = [c.replace("{out}", out) for c in s["cmd"]]
        env = {k: v.replace("{out}", out).replace("{cache}", cache) for k, v in s["env"].items()}
        env.setdefault("XDG_CACHE_HOME", cache)
        env.setdefault("CDK_OUTDIR", out)
        return run(cmd, env, timings=s["timings"])


def paired(n, name, a, b, metrics):
    """Runs a and b alternately (ABBA) n times each; prints the ratio a/b of each metric."""
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    try:
        pairs = []
        for i in range(n):
            if i % 2 == 0:
                ra, rb = run_side(a, cache), run_side(b, cache)
            else:
                rb, ra = run_side(b, cache), run_side(a, cache)
            pairs.append((ra, rb))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for label, metric in metrics:
        values = [(metric(ra), metric(rb)) for ra, rb in pairs]
        if any(x is None or y is None for x, y in values):
            print(f"  {name}, {label}: {NO_TIMINGS}")
            continue
        ratios = [x / y for x, y in values]
        ma = statistics.median(x for x, _ in values)
        mb = statistics.median(y for _, y in values)
        print(f"  {fmt_ratio(ratios)}  {name}, {label}: {ma:.3f} s / {mb:.3f} s", flush=True)
    return pairs


def wall(r):
    return r.seconds


def phase(key):
    return lambda r: None if r.timings is None or key not in r.timings else r.timings[key] / 1000


def primed(cache, what, env):
    """Fills a cache of `cache` once (a marker file says so) with one run of `env`."""
    marker = os.path.join(cache, f".primed-{what}")
    if not os.path.exists(marker):
        with tempfile.TemporaryDirectory(prefix="bench-out-") as out:
            run([BIN, "synth", "--out", out], dict(env, XDG_CACHE_HOME=cache))
        open(marker, "w").close()


def prime_synth_cache(cache):
    # One run fills the synthesis cache the "cached" side restores from.
    primed(cache, "synth", {})


def prime_validation_cache(cache):
    primed(cache, "validation", {"TRACKER_CDK_NO_CACHE": "synth"})


def has_timings():
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as cache:
        r = run_side(side([SAMPLE], {"CDK_FROM_RUST_NO_VALIDATION_CACHE": "1"}, timings=True), cache)
    return r.timings is not None


def pairs(n):
    print(f"\n1. Paired ratios A/B: median [min-max] of {n} alternating pairs; then median A / median B "
          f"({load()})")
    paired(n, "sample: Rust (record + shim) / JavaScript (node sample.js), no CLI",
           side([SAMPLE], {"CDK_FROM_RUST_NO_VALIDATION_CACHE": "1"}),
           side(["node", "test/differential/sample.js"]),
           [("wall", wall)])
    paired(n, "tracker app: tracker-cdk synth, synthesis cache hit / --no-cache",
           side([BIN, "synth", "--out", "{out}"], prepare=prime_synth_cache),
           side([BIN, "synth", "--no-cache", "--out", "{out}"]),
           [("wall", wall)])
    if not has_timings():
        print(f"  validation: parallel / serial, warm / cold validation cache: {NO_TIMINGS}")
        return
    paired(n, "tracker app --no-cache: validation parallel (default jobs) / serial (JOBS=1)",
           side([BIN, "synth", "--no-cache", "--out", "{out}"], timings=True),
           side([BIN, "synth", "--no-cache", "--out", "{out}"], {"CDK_FROM_RUST_VALIDATION_JOBS": "1"},
                timings=True),
           [("validation phase", phase("validation_ms")), ("wall", wall)])
    paired(n, "tracker app, synthesis cache off: warm validation cache / cold (--no-cache)",
           side([BIN, "synth", "--out", "{out}"], {"TRACKER_CDK_NO_CACHE": "synth"},
                prepare=prime_validation_cache, timings=True),
           side([BIN, "synth", "--no-cache", "--out", "{out}"], timings=True),
           [("validation phase", phase("validation_ms")), ("wall", wall)])


# ---------------------------------------------------------------------------------------------
# 2. Absolute medians

def cases(n):
    print(f"\n2. Medians of {n} runs ({load()})")
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    try:
        prime_synth_cache(cache)
        for name, cmd in [
            ("tracker app: npx cdk synth (cdk.json: cargo run, warm build), synthesis cache hit",
             ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}"]),
            ("tracker app: npx cdk synth -a built binary, synthesis cache hit",
             ["npx", "cdk", "synth", "-q", "--no-notices", "-o", "{out}", "-a", BIN + " synth"]),
            ("tracker app: tracker-cdk program (record only)", [BIN, "program"]),
            ("sample: record the Program only", [SAMPLE, "--program"]),
        ]:
            runs = [run_side(side(cmd), cache).seconds for _ in range(n)]
            print(f"  {statistics.median(runs):7.3f} s  {name}", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# 3. Growth

def scale_once(n, shim_env, tmp):
    program = os.path.join(tmp, f"program-{n}.json")
    record = run([SCALE, str(n), "--program"], stdout_path=program)
    nodes = []
    for validation in (True, False):
        out = os.path.join(tmp, f"out-{n}")
        shutil.rmtree(out, ignore_errors=True)
        result_file = os.path.join(tmp, "result.json")
        env = dict(shim_env, CDK_OUTDIR=out, CDK_FROM_RUST_RESULT=result_file,
                   XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        if not validation:
            env["CDK_VALIDATION"] = "false"  # aws-cdk-lib's switch for its default validator
        node = run(["node", SHIM, program], env, timings=True)
        with open(result_file) as f:
            result = json.load(f)
        if not result.get("ok"):
            raise BenchError(f"the shim failed on scale {n}: {json.dumps(result)[:4000]}")
        if validation:
            run([SCALE, "--check", out])  # every stack under 80 % of each quota, or the bench fails
            stacks = sum(len(app["stacks"]) for app in result["synthesized"])
        elif node.timings and node.timings.get("stacks_validated"):
            raise BenchError(f"CDK_VALIDATION=false still validated {node.timings['stacks_validated']} stacks")
        nodes.append(node)
    return record, nodes[0], nodes[1], stacks


def scale(sizes, runs):
    print(f"\n3. Growth: scale N (a data stack + N workers, 25 a services stack), median of {runs} "
          f"run(s) each. record: the Rust process recording the Program; node: the shim's process "
          f"replaying it (replay + synth + validation, split by its timings; validation in worker "
          f"threads of the same process); node w/o val.: the same with CDK_VALIDATION=false. "
          f"s = wall seconds, MB = that process's peak RSS (ru_maxrss from wait4)")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        shim_env_file = os.path.join(tmp, "env.json")
        run([SCALE, "--shim-env"], stdout_path=shim_env_file)
        with open(shim_env_file) as f:
            shim_env = json.load(f)
        floor = run(["true"]).maxrss_mb
        print(f"  (a process started from this script starts at its RSS, {floor:.0f} MB: a value at that "
              f"floor means at most that)")
        rows = []
        print("  services | stacks | record s | record MB | replay s | synth s | validation s | node s "
              "| node MB | w/o val. s | w/o val. MB | load")
        med = statistics.median
        for n in sizes:
            samples = [scale_once(n, shim_env, tmp) for _ in range(runs)]

            def t(key):
                vals = [node.timings.get(key) for _, node, _, _ in samples if node.timings]
                return med(vals) / 1000 if vals and None not in vals else None

            row = {
                "n": n, "stacks": samples[0][3],
                "record_s": med(r.seconds for r, _, _, _ in samples),
                "record_mb": med(r.maxrss_mb for r, _, _, _ in samples),
                "node_s": med(node.seconds for _, node, _, _ in samples),
                "node_mb": med(node.maxrss_mb for _, node, _, _ in samples),
                "noval_s": med(nv.seconds for _, _, nv, _ in samples),
                "noval_mb": med(nv.maxrss_mb for _, _, nv, _ in samples),
                "replay_s": t("replay_ms"), "synth_s": t("synth_ms"), "validation_s": t("validation_ms"),
            }
            rows.append(row)
            cell = lambda v: "n/a" if v is None else f"{v:.2f}"
            print(f"  {n:8d} | {row['stacks']:6d} | {row['record_s']:8.2f} | {row['record_mb']:9.0f} | "
                  f"{cell(row['replay_s']):>8} | {cell(row['synth_s']):>7} | {cell(row['validation_s']):>12} | "
                  f"{row['node_s']:6.2f} | {row['node_mb']:7.0f} | {row['noval_s']:10.2f} | "
                  f"{row['noval_mb']:11.0f} | {load()}", flush=True)
        if rows[0]["replay_s"] is None:
            print(f"  replay / synth / validation: {NO_TIMINGS}")
        linearity(rows, floor)


def linearity(rows, floor):
    """Marginal cost per added service between consecutive sizes: flat when a step grows
    linearly (its fixed cost cancels out), growing when it grows faster. Peak memory at the
    floor (the RSS a child inherits from this script) says nothing, so those sizes are left out."""
    print("  marginal cost per added service, (v(n2) - v(n1)) / (n2 - n1), in ms or KB; a step that grows "
          "linearly keeps it flat (last/previous near 1 or below), a faster one makes it grow:")
    for key, label in [("record_s", "record s"), ("record_mb", "record MB"), ("replay_s", "replay s"),
                       ("synth_s", "synth s"), ("validation_s", "validation s"), ("node_s", "node s"),
                       ("node_mb", "node MB"), ("noval_s", "w/o val. s"), ("noval_mb", "w/o val. MB")]:
        if any(r[key] is None for r in rows):
            continue
        used = [r for r in rows if not key.endswith("mb") or r[key] > floor + 1]
        if len(used) < 3:
            print(f"    {label:12s} n/a: fewer than 3 sizes above the {floor:.0f} MB floor")
            continue
        marginals = []
        for lo, hi in zip(used, used[1:]):
            marginals.append((hi[key] - lo[key]) * (1024 if key.endswith("mb") else 1000) / (hi["n"] - lo["n"]))
        spans = "  ".join(f"{lo['n']}->{hi['n']}: {m:7.1f}" for (lo, hi), m in
                          zip(zip(used, used[1:]), marginals))
        last, prev = marginals[-1], marginals[-2]
        if prev <= 0 or last <= 0:
            verdict = "n/a (no growth to compare)"
        else:
            verdict = f"{last / prev:.2f}" + (" linear" if last / prev <= TOLERANCE else " FASTER THAN LINEAR")
        print(f"    {label:12s} {spans}   last/previous {verdict}")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores ({model}), "
            f"{platform.system()} {platform.release()}, node {node}, commit {commit}, debug build, {load()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=5, help="runs (pairs) per case (default 5)")
    parser.add_argument("--only", default="pairs,cases,scale", help="sections: pairs,cases,scale")
    parser.add_argument("--sizes", default="1,8,32,128,500", help="scale sizes (services)")
    parser.add_argument("--scale-runs", type=int, default=1, help="runs per scale size (median)")
    args = parser.parse_args()
    for path in (BIN, SAMPLE, SCALE):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run `cargo build -p tracker-cdk -p tracker-stacks --bins --examples`")
    only = set(args.only.split(","))
    print(machine(), flush=True)
    try:
        if "pairs" in only:
            pairs(args.n)
        if "cases" in only:
            cases(args.n)
        if "scale" in only:
            scale([int(s) for s in args.sizes.split(",")], args.scale_runs)
    except BenchError as e:
        sys.exit(f"benchmark failed: {e}")
    print(f"\ndone ({load()})")


if __name__ == "__main__":
    main()
