#!/usr/bin/env python3
"""Build benchmark (not a test): `python3 bench/build.py [N] [--sample]`.

Runs N cold builds of the workspace with its default features (`cargo build --workspace
--timings`, what the build budget is about), each into a fresh, empty CARGO_TARGET_DIR (the
dependencies must be downloaded already: `cargo fetch`). Printed per run and as medians:

- wall time, and the CPU time of cargo and everything it ran;
- the largest resident set size of any one process it ran (`ru_maxrss` from wait4, as
  `/usr/bin/time -v` reports it: a rustc, in practice);
- the size of the target directory afterwards;
- from cargo's `--timings` report, each bindings crate's (`cdk-from-rust*`) start and duration,
  and when the build script that generates them ran.

`--sample` also reads /proc every 0.2 s for the sum of the rustc processes' RSS at once (what
both cores hold together). The sampling costs CPU, so those runs' times are not comparable with
the others'. Run on an idle machine; the load average is printed first.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402  (its process runner: wall time, wait4's peak RSS and CPU, stderr on failure)


def rustc_rss_sum():
    """The summed VmRSS (kB) of the running rustc processes."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        if status.startswith("Name:\trustc") and "VmRSS:" in status:
            total += int(status.split("VmRSS:")[1].split()[0])
    return total


def du(path):
    """Disk usage in bytes, as `du` counts it: allocated blocks, each hard link once (cargo links
    the binaries of deps/ into the profile directory)."""
    total = 0
    seen = set()
    for dirpath, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def timings(target):
    """The cdk-from-rust units of the newest `--timings` report: (name, target, start, duration)."""
    reports = sorted(
        os.path.join(target, "cargo-timings", f)
        for f in os.listdir(os.path.join(target, "cargo-timings"))
        if f.startswith("cargo-timing-2")
    )
    with open(reports[-1]) as f:
        html = f.read()
    match = re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S)
    if not match:
        sys.exit(f"bench/build.py: no UNIT_DATA in {reports[-1]} (another cargo version?)")
    units = json.loads(match.group(1))
    return sorted(
        (u["name"], u.get("target", "").strip(), u["start"], u["duration"])
        for u in units
        if u["name"].startswith("cdk-from-rust") and u["name"] != "cdk-from-rust-codegen"
    )


def one_build(sample):
    target = tempfile.mkdtemp(prefix="bench-build-")
    peak_sum = [0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            peak_sum[0] = max(peak_sum[0], rustc_rss_sum())
            time.sleep(0.2)

    thread = threading.Thread(target=sampler)
    if sample:
        thread.start()
    try:
        r = synth.run(
            ["cargo", "build", "--workspace", "--timings", "--quiet"],
            env={"CARGO_TARGET_DIR": target},
        )
    except synth.BenchError as e:
        sys.exit(f"bench/build.py: {e}")
    finally:
        done.set()
        if sample:
            thread.join()
    result = {
        "wall_s": r.seconds,
        "cpu_s": r.cpu_seconds,
        "max_rss_gb": r.maxrss_mb * 1024 * 1024 / 1e9,  # MiB to GB
        "target_gb": du(target) / 1e9,
        "units": timings(target),
    }
    if sample:
        result["rustc_rss_sum_gb"] = peak_sum[0] * 1024 / 1e9
    shutil.rmtree(target)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=3, help="cold builds (default 3)")
    parser.add_argument("--sample", action="store_true", help="also sum rustc RSS from /proc")
    args = parser.parse_args()
    print(synth.load())
    runs = []
    for i in range(args.n):
        r = one_build(args.sample)
        runs.append(r)
        extra = f", rustc RSS summed {r['rustc_rss_sum_gb']:.2f} GB" if args.sample else ""
        print(
            f"run {i + 1}: wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, largest process "
            f"{r['max_rss_gb']:.2f} GB, target/ {r['target_gb']:.2f} GB{extra}"
        )
        for name, kind, start, duration in r["units"]:
            print(f"    {name:24} {kind:20} start {start:5.1f} s  {duration:5.1f} s")
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    print(
        f"median of {len(runs)}: wall {med('wall_s'):.1f} s, CPU {med('cpu_s'):.1f} s, "
        f"largest process {med('max_rss_gb'):.2f} GB, target/ {med('target_gb'):.2f} GB "
        "(budget: 60 s, 2 GB)"
    )


if __name__ == "__main__":
    main()
