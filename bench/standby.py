#!/usr/bin/env python3
"""What reading from a hot standby costs a read (#37, item 3): the position check.

Each round makes a fresh throwaway primary and its streaming standby (scripts/postgres-cluster.sh
start / standby, no apply delay, both on this machine's cores) and runs bench/run.py against the
primary with --read-database = the standby: GET list and GET one of a user's 20 tasks, without a
consistency token (the primary serves them, as with no read database) and with one the standby
has long replayed (it serves them, after checking the user's last change in the same round trip).
Prints each round and the medians: requests per second and the worker's CPU per request of each
token read over its tokenless twin, with nginx's own ceiling route as the run's reference.
Usage: bench/standby.py [--rounds 3] [--duration 5] [--connections 32] [--users 64]
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
CLUSTER = os.path.join(REPO, "scripts", "postgres-cluster.sh")
WORKER = os.path.join(REPO, ".build", "release", "todo-fcgi")
SCENARIOS = ["ceiling", "list", "list-token", "get", "get-token"]
PAIRS = [("list-token", "list"), ("get-token", "get")]


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


def one_round(args):
    directory = tempfile.mkdtemp(prefix="todo-fcgi-standby-bench-")
    os.chmod(directory, 0o755)
    primary_dir, standby_dir = os.path.join(directory, "primary"), os.path.join(directory, "standby")
    try:
        primary = run([CLUSTER, "start", primary_dir]).strip().splitlines()[-1]
        run(["psql", "-qAtX", "-d", primary, "-c", "CREATE DATABASE todo OWNER todo"])
        standby = run([CLUSTER, "standby", standby_dir, primary_dir]).strip().splitlines()[-1]
        uri = lambda admin: re.sub(r"^postgresql://[^@/]*@/[^?]*", "postgresql://todo@/todo", admin)
        out = run([sys.executable, os.path.join(REPO, "bench", "run.py"), "--worker", args.worker, "--database", uri(primary),
                   "--read-database", uri(standby), "--users", str(args.users), "--connections", str(args.connections),
                   "--duration", str(args.duration), "--scenarios", ",".join(SCENARIOS)])
        served = run(["psql", "-qAtX", "-d", standby, "-c", "SELECT xact_commit FROM pg_stat_database WHERE datname = 'todo'"])
    finally:
        subprocess.run([CLUSTER, "stop", standby_dir], capture_output=True)
        subprocess.run([CLUSTER, "stop", primary_dir], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
    results = {}
    for name, rps, non2xx, cpu in re.findall(r"^\| ([\w-]+) \| \d+ \| (\d+) \| [\d.]+ \| [\d.]+ \| (\d+) \| [^|]+ \| [^|]+ \| ([\d.]+) \|",
                                             out, re.M):
        if int(non2xx):
            sys.exit(f"{name}: {non2xx} answers not 2xx")
        results[name] = (float(rps), float(cpu))
    print(f"  round: " + ", ".join(f"{name} {rps:.0f}/s {cpu:.0f} µs" for name, (rps, cpu) in results.items())
          + f"; standby transactions {served.strip()}", file=sys.stderr)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--worker", default=WORKER)
    args = parser.parse_args()
    rounds = [one_round(args) for _ in range(args.rounds)]

    def median(values):
        return f"**{statistics.median(values):.2f}** ({', '.join(f'{v:.2f}' for v in values)})"

    print(f"\n{args.rounds} rounds, wrk -c{args.connections}, {args.duration} s per run, primary and standby on this machine\n")
    print("| read | req/s token / no token | worker CPU per request token / no token | req/s token / ceiling |")
    print("|---|---|---|---|")
    for token, plain in PAIRS:
        print(f"| {plain} | {median([r[token][0] / r[plain][0] for r in rounds])} "
              f"| {median([r[token][1] / r[plain][1] for r in rounds])} "
              f"| {median([r[token][0] / r['ceiling'][0] for r in rounds])} |")
    print("\n| scenario | median req/s | median worker CPU µs/req |")
    print("|---|---|---|")
    for name in SCENARIOS:
        print(f"| {name} | {statistics.median(r[name][0] for r in rounds):.0f} | {statistics.median(r[name][1] for r in rounds):.1f} |")


if __name__ == "__main__":
    main()
