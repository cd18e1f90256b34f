#!/usr/bin/env python3
"""PostgreSQL through the product against pgbench on the same server, in the same run (#36).

Each round makes a fresh throwaway PostgreSQL server (scripts/postgres-cluster.sh: unix socket,
fsync on, synchronous_commit on) and, in alternating order:
  pgbench (-M prepared, -c CONNECTIONS -j 2, superuser: row-level security is not in its way) on
    a migrated database holding USERS users x 20 tasks:
      insert         one INSERT per transaction into the product's `tasks` (all its indexes),
                     for a user at random
      insert+notify  the same plus pg_notify(...) in the transaction: what a write cost while
                     schema 5's trigger notified from every write
      update         one UPDATE of one task by id (completed, completed_at, updated_at, version)
      list           the product's own list round trip (`todo-bench pgbench-list`: its
                     transaction's first statement and the list of 20, in one pipeline)
  the product (bench/run.py --database: its nginx, spawn-fcgi, BENCH_THREADS worker threads),
    USERS users x 20 tasks seeded through the API, wrk -c CONNECTIONS:
      create-spread, complete-spread, patch-spread  writes for a user at random each
      create, list   one user's (create: the last user's, whose writes serialize on its change
                     counter; list: the first user's 20 tasks)
and prints each round and the medians, each product figure over its pgbench line.
With --baseline-worker, each round also runs the product side with that binary (another build,
e.g. the main this tree started from), and the table adds this tree over it.
Usage: bench/postgres.py [--rounds 3] [--duration 5] [--connections 32] [--users 64] [--baseline-worker BIN]
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
BIN = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql"))
             if os.path.exists(os.path.join(d, "pgbench")))[-1] if os.path.isdir("/usr/lib/postgresql") else ""

INSERT = """\\set u random(0, {last})
INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at, search_text)
VALUES ('user' || lpad(:u::text, 4, '0'), 'benchmark task', 'benchmark task', 'created by pgbench', false,
        1795000000000, 1795000000000, 'benchmark task created by pgbench');
"""
INSERT_NOTIFY = INSERT + "SELECT pg_notify('todo_task_changes', lpad(:u::text, 16, '0'));\n"
UPDATE = """\\set id random(1, {tasks})
UPDATE tasks SET completed = NOT completed, completed_at = 1795000000001, updated_at = 1795000000001,
    version = version + 1 WHERE id = :id;
"""
PRODUCT_SCENARIOS = ["ceiling", "list", "create", "create-spread", "complete-spread", "patch-spread"]
# (product scenario, pgbench line it is held to)
PAIRS = [("create-spread", "insert"), ("complete-spread", "update"), ("patch-spread", "update"),
         ("create", "insert"), ("list", "list")]


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="todo-fcgi-pgbench-")
        self.admin = run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "start", self.dir]).strip().splitlines()[-1]
        self.socket = re.search(r"host=([^&]+)", self.admin).group(1)
        self.count = 0

    def psql(self, database, sql):
        return run([os.path.join(BIN, "psql"), "-h", self.socket, "-U", "postgres", "-d", database, "-qAtX",
                    "-v", "ON_ERROR_STOP=1", "-c", sql])

    def fresh_database(self, worker):
        """A new database owned by `todo`, migrated by the worker; its name and the workers' URI."""
        self.count += 1
        name = f"bench_{self.count}"
        self.psql("postgres", f"CREATE DATABASE {name} OWNER todo")
        uri = f"postgresql://todo@/{name}?host={self.socket}"
        run([worker, "migrate"], env=dict(os.environ, TODO_DATABASE=uri))
        return name, uri

    def stop(self):
        subprocess.run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "stop", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def pgbench_side(server, args):
    name, _ = server.fresh_database(args.worker)
    server.psql(name, f"""
        INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at)
        SELECT 'user' || lpad((n % {args.users})::text, 4, '0'), 'task ' || n, 'task ' || n, false, 1795000000000 + n,
               1795000000000 + n FROM generate_series(0, {args.users * 20 - 1}) AS n""")
    server.psql(name, "VACUUM ANALYZE tasks")
    # The list first, while every user has their 20 tasks (the inserts add more).
    scripts = {"list": run([os.path.join(REPO, ".build", "release", "todo-bench"), "pgbench-list", str(args.users)]),
               "update": UPDATE.format(tasks=args.users * 20), "insert": INSERT.format(last=args.users - 1),
               "insert+notify": INSERT_NOTIFY.format(last=args.users - 1)}
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, text in scripts.items():
            path = os.path.join(scratch, label.replace("+", "-") + ".sql")
            with open(path, "w") as f:
                f.write(text)
            out = run([os.path.join(BIN, "pgbench"), "-n", "-M", "prepared", "-c", str(args.connections), "-j", "2",
                       "-T", str(args.duration), "-h", server.socket, "-U", "postgres", "-f", path, name])
            results[label] = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
            failed = re.search(r"number of failed transactions: (\d+)", out)
            if failed and int(failed.group(1)):
                sys.exit(f"pgbench {label}: {failed.group(1)} failed transactions")
            print(f"  pgbench {label:13} {results[label]:8.0f}/s", file=sys.stderr)
    return results


def product_side(server, args, worker=None):
    worker = worker or args.worker
    _, uri = server.fresh_database(worker)
    out = run([sys.executable, os.path.join(REPO, "bench", "run.py"), "--worker", worker, "--database", uri,
               "--users", str(args.users), "--connections", str(args.connections), "--duration", str(args.duration),
               "--scenarios", ",".join(PRODUCT_SCENARIOS)])
    results = {}
    for scenario, rps, non2xx in re.findall(r"^\| ([\w-]+) \| \d+ \| (\d+) \| [\d.]+ \| [\d.]+ \| (\d+) \|", out, re.M):
        if int(non2xx):
            sys.exit(f"the product answered {non2xx} non-2xx in {scenario}")
        results[scenario] = float(rps)
        print(f"  product {scenario:15} {results[scenario]:8.0f}/s", file=sys.stderr)
    return results


def ratios(rounds, side, scenario, other, reference):
    values = [r[side][scenario] / r[other][reference] for r in rounds]
    return f"**{statistics.median(values):.2f}** ({', '.join(f'{x:.2f}' for x in values)})"


def table(rounds):
    baseline = "baseline" in rounds[0]
    head = "| what | pgbench /s | product /s | product / pgbench |"
    if baseline:
        head += " baseline /s | baseline / pgbench | product / baseline |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for scenario, reference in PAIRS:
        line = (f"| {scenario} vs {reference} | {statistics.median(r['pgbench'][reference] for r in rounds):.0f} "
                f"| {statistics.median(r['product'][scenario] for r in rounds):.0f} | {ratios(rounds, 'product', scenario, 'pgbench', reference)} |")
        if baseline:
            line += (f" {statistics.median(r['baseline'][scenario] for r in rounds):.0f} "
                     f"| {ratios(rounds, 'baseline', scenario, 'pgbench', reference)} | {ratios(rounds, 'product', scenario, 'baseline', scenario)} |")
        lines.append(line)
    lines.append(f"| pgbench insert+notify (a NOTIFY in every write) | "
                 f"{statistics.median(r['pgbench']['insert+notify'] for r in rounds):.0f} |" + " |" * (head.count("|") - 3))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--worker", default=os.path.join(REPO, ".build", "release", "todo-fcgi"))
    parser.add_argument("--baseline-worker", default=None, help="another todo-fcgi build, run as a third side")
    args = parser.parse_args()
    rounds = []
    for index in range(args.rounds):
        server = Server()
        try:
            print(f"round {index + 1}", file=sys.stderr)
            # Alternating order, so neither side always runs on a warmer (or more fragmented) server.
            sides = [("pgbench", pgbench_side), ("product", product_side)]
            if args.baseline_worker:
                sides.append(("baseline", lambda server, args: product_side(server, args, args.baseline_worker)))
            sides = sides[index % len(sides):] + sides[:index % len(sides)]
            rounds.append({label: side(server, args) for label, side in sides})
        finally:
            server.stop()
    print(f"\n{args.rounds} rounds, c{args.connections}, {args.duration} s per run, {args.users} users; medians "
          f"(each round's ratio in brackets)\n")
    print(table(rounds))


if __name__ == "__main__":
    main()
