#!/usr/bin/env python3
"""What a change costs writes: this tree's worker against another build's, interleaved (#38).

Each round runs bench/run.py (its nginx, spawn-fcgi, a fresh database seeded with --users users
x 20 tasks through the API) once with each worker, in alternating order: POST creates, PATCH
completes and PATCH description changes, each for a user at random (create-spread,
complete-spread, patch-spread), wrk -c CONNECTIONS for DURATION seconds. SQLite gets a fresh file
per run; PostgreSQL a fresh database on one throwaway server (scripts/postgres-cluster.sh).
Prints each round and the medians of this tree over the other, per scenario and backend.
Usage: bench/writes.py --baseline-worker BIN [--rounds 3] [--backends sqlite,postgresql]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORKER = os.path.join(REPO, ".build", "release", "todo-fcgi")
SCENARIOS = ["create-spread", "complete-spread", "patch-spread"]


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


def product(worker, args, database=None):
    argv = [sys.executable, os.path.join(REPO, "bench", "run.py"), "--worker", worker, "--users", str(args.users),
            "--connections", str(args.connections), "--duration", str(args.duration), "--scenarios", ",".join(SCENARIOS)]
    if database:
        argv += ["--database", database]
    out = run(argv)
    results = {}
    for scenario, rps, non2xx in re.findall(r"^\| ([\w-]+) \| \d+ \| (\d+) \| [\d.]+ \| [\d.]+ \| (\d+) \|", out, re.M):
        if int(non2xx):
            sys.exit(f"{scenario}: {non2xx} answers not 2xx")
        results[scenario] = float(rps)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-worker", required=True)
    parser.add_argument("--worker", default=WORKER)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="todo-fcgi-writes-")
    os.chmod(directory, 0o755)
    server = os.path.join(directory, "postgres")
    count = 0
    try:
        ratios = {}
        for backend in args.backends.split(","):
            admin = run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "start", server]).strip().splitlines()[-1] \
                if backend == "postgresql" else None
            for number in range(args.rounds):
                order = [("this", args.worker), ("baseline", args.baseline_worker)]
                if number % 2:
                    order.reverse()
                results = {}
                for label, worker in order:
                    database = None
                    if admin:
                        count += 1
                        run(["psql", "-qAtX", "-d", admin, "-c", f"CREATE DATABASE writes_{count} OWNER todo"])
                        database = re.sub(r"^postgresql://[^@/]*@/[^?]*", f"postgresql://todo@/writes_{count}", admin)
                    results[label] = product(worker, args, database)
                line = ", ".join(f"{s} {results['this'][s]:.0f}/{results['baseline'][s]:.0f}" for s in SCENARIOS)
                print(f"  {backend} round {number + 1}: {line} (this/baseline req/s)", file=sys.stderr)
                for scenario in SCENARIOS:
                    ratios.setdefault((backend, scenario), []).append(results["this"][scenario] / results["baseline"][scenario])
        print(f"\n{args.rounds} interleaved rounds, wrk -c{args.connections}, {args.duration} s per run, "
              f"{args.users} users x 20 tasks; this tree's req/s over the baseline's\n")
        print("| backend | scenario | this / baseline |")
        print("|---|---|---|")
        for (backend, scenario), values in ratios.items():
            print(f"| {backend} | {scenario} | **{statistics.median(values):.2f}** ({', '.join(f'{v:.2f}' for v in values)}) |")
    finally:
        subprocess.run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "stop", server], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
