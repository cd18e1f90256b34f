#!/usr/bin/env python3
"""A page at 100,000 tasks (#38): every list query of contract §6 for a heavy user and a light one.

For each backend (a fresh SQLite file; a fresh database on a throwaway PostgreSQL server,
scripts/postgres-cluster.sh), starts the worker behind the product's nginx (bench/run.py's
stack), builds through the API one user with --tasks tasks and one with 20, of the same mix
(titles and descriptions from a vocabulary in which "dentist" and "taxes" are rare, 0-3 of 12
tags, every priority, two thirds with a due date — a quarter of those all-day — and half of all
completed), then times each query through nginx for both users (median of --repeats, each a
fresh request on a kept-alive connection) and, on a second fresh database holding only a light
user made the same way, the light user alone. The queries: no filter, each filter alone
(status, priority, tag, q with one and two words, due_before, due_after, has_due), each with
every sort and order, and offsets up to 10,000.
Prints a Markdown table per backend: milliseconds and the heavy/light and light/alone ratios.
Usage: bench/scale.py [--tasks 100000] [--backends sqlite,postgresql] [--repeats 7] [--quick]
"""
import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "bench"))
import run as stack  # noqa: E402  (bench/run.py: the worker, nginx and the token)

WORDS = ("call email buy pay book plan fix clean write read review send check order pick visit "
         "mom dad team client report invoice groceries milk bread car bike house garden kitchen "
         "project budget meeting slides draft notes tickets flight hotel gift birthday party "
         "doctor vet school homework laundry trash bills rent insurance bank passport").split()
RARE = ["dentist", "taxes"]
TAGS = ["gym", "work", "home", "errand", "family", "health", "finance", "travel", "school", "car", "garden", "later"]
FILTERS = ["", "status=pending", "status=completed", "priority=high", "tag=gym", "q=dentist", "q=dentist%20taxes",
           "due_before=2027-02-03T00:00:00Z", "due_after=2027-02-03T00:00:00Z", "has_due=true"]
SORTS = ["created", "updated", "title", "due_date", "priority"]


def task(rng):
    words = rng.sample(WORDS, rng.randint(2, 4))
    if rng.random() < 0.01:
        words.insert(rng.randrange(len(words) + 1), rng.choice(RARE))
    body = {"title": " ".join(words).capitalize(), "priority": rng.choice(["low", "medium", "high"]),
            "tags": rng.sample(TAGS, rng.choice([0, 1, 1, 2, 3])), "completed": rng.random() < 0.5}
    if rng.random() < 0.5:
        description = rng.sample(WORDS, rng.randint(3, 8))
        if rng.random() < 0.01:
            description.append(rng.choice(RARE))
        body["description"] = " ".join(description)
    if rng.random() < 2 / 3:
        day = 1_767_225_600 + rng.randrange(3 * 365) * 86_400  # 2026-01-01 onwards
        if rng.random() < 0.25:
            body["due_date"] = time.strftime("%Y-%m-%d", time.gmtime(day))
        else:
            body["due_date"] = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(day + rng.randrange(24 * 60) * 60))
    return body


def create(user, count, seed, threads=8):
    """`count` tasks for `user` through the API, on `threads` kept-alive connections."""
    auth = "Bearer " + stack.token(user)
    done = [0]
    lock = threading.Lock()

    def part(index):
        rng = random.Random(seed * 1000 + index)
        connection = http.client.HTTPConnection("127.0.0.1", 18081)
        for _ in range(index, count, threads):
            connection.request("POST", f"/api/{user}/tasks", body=json.dumps(task(rng)),
                               headers={"Authorization": auth, "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            assert response.status == 201, response.status
            with lock:
                done[0] += 1
        connection.close()

    workers = [threading.Thread(target=part, args=(index,)) for index in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"  {count} tasks for {user} in {time.monotonic() - started:.0f} s", file=sys.stderr)


def queries():
    """(label, query string): each filter alone with the default order, with every sort and
    order, and offsets."""
    listed = []
    for filter_ in FILTERS:
        listed.append((filter_ or "(none)", "&".join(x for x in [filter_, "limit=20"] if x)))
        for sort in SORTS:
            for order in ("asc", "desc"):
                listed.append((f"{filter_ or '(none)'} sort={sort} {order}",
                               "&".join(x for x in [filter_, f"sort={sort}", f"order={order}", "limit=20"] if x)))
    for offset in (1_000, 10_000):
        listed.append((f"offset={offset}", f"offset={offset}&limit=20"))
    return listed


def timed(connection, user, auth, query, repeats):
    """The median milliseconds of `repeats` requests, and the last answer's X-Total-Count."""
    times, total = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        connection.request("GET", f"/api/{user}/tasks?{query}", headers={"Authorization": auth})
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (query, response.status)
        total = response.getheader("X-Total-Count")
    return statistics.median(times), total


def running(database, worker):
    args = types.SimpleNamespace(database=database, synchronous="full", metrics_off=False, flush_delay_us=None,
                                 worker=worker, scale=0, read_database=None, config_root=REPO)
    bench = stack.Bench(args)
    bench.start()
    return bench


def measure(users, repeats):
    connection = http.client.HTTPConnection("127.0.0.1", 18081)
    results = {}
    for label, query in queries():
        results[label] = [timed(connection, user, "Bearer " + stack.token(user), query, repeats) for user in users]
    connection.close()
    return results


def fresh_postgres(server_dir, name):
    admin = subprocess.run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "start", server_dir], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    subprocess.run(["psql", "-qAtX", "-d", admin, "-c", f"CREATE DATABASE {name} OWNER todo"], check=True, capture_output=True)
    return re.sub(r"^postgresql://[^@/]*@/[^?]*", f"postgresql://todo@/{name}", admin)


def backend_run(backend, args, directory):
    def database(name):
        if backend == "sqlite":
            return os.path.join(directory, name + ".db")
        return fresh_postgres(os.path.join(directory, "postgres"), name)

    bench = running(database("shared"), args.worker)
    try:
        create("heavy", args.tasks, seed=1)
        create("light", 20, seed=2)
        if backend == "postgresql":
            subprocess.run(["psql", "-qAtX", "-d", re.sub(r"postgresql://todo@", "postgresql://postgres@", bench.args.database),
                            "-c", "VACUUM ANALYZE"], check=True, capture_output=True)
        shared = measure(["heavy", "light"], args.repeats)
    finally:
        bench.stop()
    bench = running(database("alone"), args.worker)
    try:
        create("light", 20, seed=2)
        alone = measure(["light"], args.repeats)
    finally:
        bench.stop()
    return shared, alone


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--worker", default=stack.WORKER)
    parser.add_argument("--quick", action="store_true", help="10,000 tasks, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.repeats = 10_000, 3
    directory = tempfile.mkdtemp(prefix="todo-fcgi-scale-")
    os.chmod(directory, 0o755)
    try:
        for backend in args.backends.split(","):
            print(f"{backend}:", file=sys.stderr)
            shared, alone = backend_run(backend, args, directory)
            worst = max(shared[label][0][0] / shared[label][1][0] for label in shared)
            print(f"\n{backend}: one user with {args.tasks} tasks, one with 20; median of {args.repeats}; worst heavy/light {worst:.1f}x\n")
            print("| query | heavy ms | total | light ms | heavy / light | light alone ms | light / alone |")
            print("|---|---|---|---|---|---|---|")
            for label in shared:
                (heavy, total), (light, _) = shared[label]
                only = alone[label][0][0]
                print(f"| {label} | {heavy:.1f} | {total} | {light:.1f} | {heavy / light:.1f}x | {only:.1f} | {light / only:.1f}x |")
    finally:
        subprocess.run([os.path.join(REPO, "scripts", "postgres-cluster.sh"), "stop", os.path.join(directory, "postgres")],
                       capture_output=True)
        subprocess.run(["rm", "-rf", directory])


if __name__ == "__main__":
    main()
