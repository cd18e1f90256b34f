#!/usr/bin/env python3
"""todo-fcgi benchmark: wrk through nginx against the FastCGI transport ceiling.

Starts everything on loopback by itself (three nginx instances from the same template,
the worker under spawn-fcgi, the C ceiling responder), seeds a fresh database through the
API, runs each scenario with wrk at 32 and 64 connections, prints a Markdown table and
stops what it started. Run it through bench/run.sh, which installs and builds first.
"""
import argparse
import concurrent.futures
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORKER = os.path.join(REPO, ".build", "release", "todo-fcgi")
SECRET = "benchmark-secret-" + "b" * 32
THREADS = int(os.environ.get("BENCH_THREADS", "8"))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub):
    now = int(time.time())
    signing = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(json.dumps({"sub": sub, "iat": now, "exp": now + 7200}).encode())
    return signing + "." + b64url(hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest())


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="todo-fcgi-bench-")
        self.processes = []
        self.worker_pid = None

    def spawn(self, argv, **kwargs):
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        self.processes.append(process)
        return process

    def nginx(self, name, port, socket_path, static_body=None, keepalive=None, keep_conn=True):
        """An nginx from the (tested) tree's template; `keepalive` overrides the upstream cache size,
        `keep_conn=False` serves the API with `fastcgi_keep_conn off` (a connection per request)."""
        root = self.args.config_root
        run_dir = os.path.join(self.dir, name)
        os.makedirs(run_dir)
        conf = subprocess.run([os.path.join(root, "scripts", "render-nginx-conf.sh"), run_dir, str(port), socket_path],
                              check=True, capture_output=True, text=True).stdout
        if keepalive is not None:
            conf = re.sub(r"keepalive \d+;", f"keepalive {keepalive};", conf)
        if not keep_conn:
            api = open(os.path.join(root, "nginx", "todo-fcgi-api.conf")).read().replace("fastcgi_keep_conn on;",
                                                                                          "fastcgi_keep_conn off;")
            with open(os.path.join(run_dir, "api.conf"), "w") as f:
                f.write(api)
            conf = re.sub(r"include .*todo-fcgi-api\.conf;", f"include {run_dir}/api.conf;", conf)
            conf = re.sub(r"keepalive \d+;", "", conf)
        if static_body is not None:
            # The static reference: the same nginx, answering the body itself (from a file:
            # a body this size is beyond what `return` takes in nginx's configuration).
            with open(os.path.join(run_dir, "static.json"), "w") as f:
                f.write(static_body)
            conf = re.sub(r"include .*todo-fcgi-api\.conf;",
                          "location / { default_type application/json; root %s; try_files /static.json =404; }" % run_dir, conf)
        path = os.path.join(run_dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.spawn(["nginx", "-c", path, "-g", "daemon off;"])

    def start(self):
        env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=self.args.database or os.path.join(self.dir, "bench.db"),
                   TODO_SYNCHRONOUS=self.args.synchronous, TODO_METRICS_FILE=os.path.join(self.dir, "bench.metrics"))
        if self.args.metrics_off:
            env["TODO_METRICS_FILE"] = "off"
        if self.args.read_database:
            env["TODO_READ_DATABASE"] = self.args.read_database
        if self.args.flush_delay_us is not None:
            env.update(LD_PRELOAD=flush_delay_library(self.dir), FLUSH_DELAY_US=str(self.args.flush_delay_us))
        self.env = env
        worker_socket = os.path.join(self.dir, "worker.sock")
        ceiling_socket = os.path.join(self.dir, "ceiling.sock")
        subprocess.run([self.args.worker, "migrate"], env=env, check=True, capture_output=True)
        if self.args.scale:
            prefill(env["TODO_DATABASE"], self.args.scale)
        worker = self.spawn(["spawn-fcgi", "-n", "-s", worker_socket, "-M", "0660", "--", self.args.worker, "serve",
                             "--threads", str(THREADS)], env=env)
        self.worker_pid = worker.pid  # spawn-fcgi -n execs the worker in place
        self.worker_socket = worker_socket
        self.nginx("worker", 18081, worker_socket)
        self.nginx("worker-nokeep", 18084, worker_socket, keep_conn=False)
        started = time.time()
        wait_until(lambda: http_status(18081, "/health") == 200)
        self.startup_ms = (time.time() - started) * 1000
        self.port = 18081

    def seed(self):
        users = []
        connection = http.client.HTTPConnection("127.0.0.1", self.port)
        for index in range(self.args.users):
            name = f"user{index:04d}"
            auth = token(name)
            ids = []
            for n in range(20):
                connection.request("POST", f"/api/{name}/tasks", body=json.dumps({"title": f"task {n} of {name}",
                                   "description": "seeded for the benchmark"}),
                                   headers={"Authorization": "Bearer " + auth, "Content-Type": "application/json"})
                response = connection.getresponse()
                ids.append(json.loads(response.read())["id"])
                assert response.status == 201
            users.append((name, auth, ids))
        connection.close()
        self.users_file = os.path.join(self.dir, "users.txt")
        self.first_user = users[0][0]
        with open(self.users_file, "w") as f:
            for name, auth, ids in users:
                f.write(f"{name} {auth} {' '.join(map(str, ids))}\n")
        connection = http.client.HTTPConnection("127.0.0.1", self.port)
        connection.request("GET", f"/api/{users[0][0]}/tasks", headers={"Authorization": "Bearer " + users[0][1]})
        self.list_body = connection.getresponse().read()
        connection.close()

    def start_references(self):
        ceiling_bin = os.path.join(self.dir, "ceiling-responder")
        subprocess.run(["gcc", "-O2", "-o", ceiling_bin, os.path.join(REPO, "bench", "ceiling.c"), "-lfcgi", "-lpthread"],
                       check=True)
        ceiling_socket = os.path.join(self.dir, "ceiling.sock")
        ceiling = self.spawn(["spawn-fcgi", "-n", "-s", ceiling_socket, "-M", "0660", "--", ceiling_bin, str(THREADS),
                              str(len(self.list_body))])
        self.ceiling_pid = ceiling.pid
        # Plain libfcgi pins a thread per idle kept connection: its nginx keeps 2 per nginx
        # worker (4 < its 8 threads), the setting it is fastest with, so the ceiling stays honest.
        self.nginx("ceiling", 18082, ceiling_socket, keepalive=2)
        self.nginx("static", 18083, "/nonexistent", static_body="x" * (len(self.list_body) - 1) + "\n")
        wait_until(lambda: http_status(18082, "/api/x/tasks") == 200 and http_status(18083, "/") == 200)

    def wrk(self, port, path, scenario, connections):
        env = dict(os.environ, SCENARIO=scenario, BENCH_USERS=self.users_file)
        if scenario.startswith("query:"):
            user = "filler00001" if self.args.scale else self.first_user
            env.update(SCENARIO="query", QUERY=scenario[len("query:"):], QUERY_USER=user, QUERY_TOKEN=token(user))
        measured = self.ceiling_pid if port == 18082 else self.worker_pid
        before = cpu_ticks(measured)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{self.args.duration}s", "--latency",
                              "-s", os.path.join(REPO, "bench", "scenario.lua"), f"http://127.0.0.1:{port}{path}"],
                             env=env, capture_output=True, text=True, timeout=self.args.duration + 60).stdout
        after = cpu_ticks(measured)
        result = json.loads(re.search(r"RESULT (\{.*\})", out).group(1))
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["cpu_us_per_request"] = (after - before) * 1e6 / os.sysconf("SC_CLK_TCK") / max(result["requests"], 1)
        return result

    def idle_front_ends(self, rounds=5):
        """Two more nginx instances (64 idle upstream connections per nginx worker, 2 workers each:
        up to 256) load the API for 2 s and go idle; a fourth, fresh one then sends 8 concurrent
        GET list requests on new connections. Returns (descriptors the idle ones hold, the worst
        latency per round in ms)."""
        baseline = len(os.listdir(f"/proc/{self.worker_pid}/fd"))
        for name, port in (("front-b", 18085), ("front-c", 18086)):
            self.nginx(name, port, self.worker_socket, keepalive=64)
        self.nginx("front-d", 18087, self.worker_socket)
        wait_until(lambda: all(http_status(p, "/health") == 200 for p in (18085, 18086, 18087)))
        env = dict(os.environ, SCENARIO="list", BENCH_USERS=self.users_file)
        loads = [subprocess.Popen(["wrk", "-t2", "-c128", "-d2s", "-s", os.path.join(REPO, "bench", "scenario.lua"),
                                   f"http://127.0.0.1:{port}/"], env=env, stdout=subprocess.DEVNULL)
                 for port in (18085, 18086)]
        for load in loads:
            load.wait(timeout=60)
        time.sleep(0.5)
        held = len(os.listdir(f"/proc/{self.worker_pid}/fd")) - baseline
        user, auth = open(self.users_file).readline().split()[:2]
        worst = []
        import threading
        for _ in range(rounds):
            latencies = []

            def one():
                started = time.time()
                connection = http.client.HTTPConnection("127.0.0.1", 18087, timeout=30)
                connection.request("GET", f"/api/{user}/tasks", headers={"Authorization": "Bearer " + auth})
                response = connection.getresponse()
                response.read()
                connection.close()
                latencies.append((time.time() - started) * 1000 if response.status == 200 else float("inf"))

            threads = [threading.Thread(target=one) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            worst.append(max(latencies))
            time.sleep(0.2)
        return held, worst

    def soak(self, seconds, interval=10):
        """GET list in `interval`-second wrk runs for `seconds`; returns (requests, RSS KiB) per run."""
        samples = []
        saved = self.args.duration
        self.args.duration = interval
        try:
            for _ in range(max(1, seconds // interval)):
                result = self.wrk(18081, "/", "list", 32)
                samples.append((result["requests"], rss_kib(self.worker_pid)))
        finally:
            self.args.duration = saved
        return samples

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def prefill(path, tasks, users=10_000):
    """Fills the database with `tasks` tasks over `users` other users (5,000 of them for
    filler00001, whose list pages the query plans show), straight through SQLite, with the
    columns the worker writes (task model v2 included: a third tagged work, a fifth home, two
    thirds with a due date, priorities in turn), so a data-scale run starts in seconds."""
    import sqlite3
    now = int(time.time() * 1000)
    connection = sqlite3.connect(path)

    def row(i):
        title = f"Filler task {i}"
        tags = [tag for tag, every in (("work", 3), ("home", 5)) if i % every == 0]
        keys = ("\x1f" + "\x1f".join(tags) + "\x1f") if tags else ""
        due = now + (i % 1000) * 3_600_000 if i % 3 != 1 else None
        return ("filler00001" if i < 5000 else f"filler{i % users:05d}", title, title.lower(), "prefilled", i % 3 == 0,
                now + i, now + i, i % 3, json.dumps(tags), keys, title.lower() + "\nprefilled", due, i + 1)

    with connection:
        connection.executemany(
            "INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at,"
            " priority, tags, tag_keys, search_text, due_date, change_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row(i) for i in range(tasks)))
        connection.execute("INSERT OR REPLACE INTO task_sync (user_id, last_change) SELECT user_id, max(change_seq) FROM tasks GROUP BY user_id")
        connection.execute("ANALYZE")
    connection.close()


def query_plans(path):
    """SQLite's plans for the statements the API itself runs (built by TaskStore, printed by
    `todo-bench plans`), for filler00001, the user with 5,000 tasks."""
    bench_binary = os.path.join(os.path.dirname(WORKER), "todo-bench")
    result = subprocess.run([bench_binary, "plans", path, "filler00001"], check=True, capture_output=True, text=True)
    return "\n".join("    " + line for line in result.stdout.splitlines())


def wait_until(condition, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("timed out waiting for the stack")


def http_status(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


# Scenario name -> (nginx port, path for wrk, bench/scenario.lua mode). 18081 is the worker behind
# the product's nginx configuration, 18084 the same with `fastcgi_keep_conn off`, 18082 the libfcgi
# ceiling, 18083 nginx's static answer.
SCENARIOS = {"ceiling": (18082, "/api/x/tasks", "plain"), "static": (18083, "/", "plain"),
             "list": (18081, "/", "list"), "get": (18081, "/", "get"), "create": (18081, "/", "create"),
             "complete": (18081, "/", "complete"), "mix": (18081, "/", "mix"),
             "list-token": (18081, "/", "list-token"), "get-token": (18081, "/", "get-token"),
             "list-nokeep": (18084, "/", "list"), "create-nokeep": (18084, "/", "create"),
             "complete-nokeep": (18084, "/", "complete"),
             # Writes for a user at random each (the others are one user's: that user's writes serialize).
             "create-spread": (18081, "/", "create-spread"), "complete-spread": (18081, "/", "complete-spread"),
             "patch-spread": (18081, "/", "patch-spread"),
             # Task model v2's search, filters and sorts: on the 5,000-task user with --scale,
             # else on the first seeded user (20 tasks).
             "search": (18081, "/", "query:q=task+filler&limit=20"),
             "filter-tag": (18081, "/", "query:tag=work&status=pending&limit=20"),
             "sort-due": (18081, "/", "query:sort=due_date&has_due=true&limit=20"),
             "filter-mix": (18081, "/", "query:q=task&tag=work&priority=high,medium&due_after=2020-01-01T00:00:00Z&sort=due_date&limit=20")}


def flush_delay_library(directory):
    """Builds bench/flush-delay.c into `directory` and returns the shared object's path."""
    library = os.path.join(directory, "flush-delay.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, os.path.join(REPO, "bench", "flush-delay.c"), "-ldl"],
                   check=True)
    return library


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def rss_parts_mib(pid):
    """The worker's RSS split: private anonymous memory (heap, stacks) and file-backed pages
    (shared libraries, the metrics file, SQLite's -shm), which other processes share."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    def field(name):
        return int(re.search(rf"^{name}:\s+(\d+)", text, re.M).group(1)) / 1024
    return field("Anonymous"), field("Rss") - field("Anonymous")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s per run, 100 users: under a minute")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--users", type=int, default=1000, help="users seeded for the mix (default 1000)")
    parser.add_argument("--synchronous", default="full", choices=["full", "normal"])
    parser.add_argument("--connections", default="32,64")
    parser.add_argument("--scenarios", default="ceiling,static,list,get,create,complete,mix,list-nokeep,create-nokeep",
                        help="comma-separated; reads-under-writes runs GET list on 8 connections while 64 create, "
                             "once; from: " + ", ".join(SCENARIOS) + ", reads-under-writes (default: %(default)s)")
    parser.add_argument("--idle-front-ends", action="store_true",
                        help="after the scenarios, measure a fresh front end's wait while two others hold idle connections")
    parser.add_argument("--worker", default=WORKER, help="the todo-fcgi binary (default: this tree's release build)")
    parser.add_argument("--config-root", default=REPO,
                        help="the tree whose nginx template and snippets to use (default: this one)")
    parser.add_argument("--flush-delay-us", type=int, default=None,
                        help="make every fsync/fdatasync of the worker this many microseconds slower "
                             "(bench/flush-delay.c via LD_PRELOAD), as on a server's block storage")
    parser.add_argument("--metrics-off", action="store_true",
                        help="run the worker with TODO_METRICS_FILE=off, to measure what recording metrics costs")
    parser.add_argument("--scale", type=int, default=0, help="prefill this many tasks over 10,000 other users")
    parser.add_argument("--database", default=None,
                        help="a postgresql:// URI of an empty database (owned by a role that is neither superuser nor "
                             "BYPASSRLS) to run the same scenarios against PostgreSQL; default: a fresh SQLite file")
    parser.add_argument("--read-database", default=None,
                        help="with --database: a postgresql:// URI of its hot standby (TODO_READ_DATABASE), which serves "
                             "list-token and get-token")
    parser.add_argument("--soak", type=int, default=0,
                        help="after the scenarios, run GET list for this many seconds and sample the worker's RSS")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.users = 2, 100
    if args.database and args.scale:
        parser.error("--scale prefills an SQLite file: it does not combine with --database")
    bench = Bench(args)
    try:
        bench.start()
        bench.seed()
        bench.start_references()
        rss_before = rss_kib(bench.worker_pid)
        rows = []
        targets = SCENARIOS
        for connections in [int(c) for c in args.connections.split(",")]:
            ceiling = None
            for name in args.scenarios.split(","):
                if name == "reads-under-writes":
                    # GET list on 8 connections while 64 create, at once: do waiting writes starve reads?
                    if connections != int(args.connections.split(",")[0]):
                        continue
                    with concurrent.futures.ThreadPoolExecutor(2) as pool:
                        reads = pool.submit(bench.wrk, 18081, "/", "list", 8)
                        writes = pool.submit(bench.wrk, 18081, "/", "create", 64)
                        for label, count, result in (("list-under-writes", 8, reads.result()),
                                                     ("create-with-reads", 64, writes.result())):
                            rows.append((label, count, result, ceiling))
                            print(f"  {label:9} c={count:<3} {result['rps']:9.0f} req/s  p50 {result['p50_us'] / 1000:6.2f} ms"
                                  f"  p99 {result['p99_us'] / 1000:6.2f} ms  non-2xx {result['non2xx']}", file=sys.stderr)
                    continue
                port, path, scenario = targets[name]
                result = bench.wrk(port, path, scenario, connections)
                if name == "ceiling":
                    ceiling = result
                rows.append((name, connections, result, ceiling))
                print(f"  {name:9} c={connections:<3} {result['rps']:9.0f} req/s  p50 {result['p50_us'] / 1000:6.2f} ms"
                      f"  p99 {result['p99_us'] / 1000:6.2f} ms  non-2xx {result['non2xx']}", file=sys.stderr)
        rss_after = rss_kib(bench.worker_pid)
        parts_after = rss_parts_mib(bench.worker_pid)
        # The worker hands free heap pages back every 5 s: what it holds once the load is gone.
        time.sleep(6)
        rss_settled = rss_kib(bench.worker_pid)
        idle = bench.idle_front_ends() if args.idle_front_ends else None
        soak = []
        if args.soak:
            soak = bench.soak(args.soak)
        plans = query_plans(os.path.join(bench.dir, "bench.db")) if args.scale else ""
    finally:
        bench.stop()

    flush = f", fsync +{args.flush_delay_us} us" if args.flush_delay_us is not None else ""
    backend = "PostgreSQL" if args.database else f"SQLite synchronous={args.synchronous}{flush}"
    print(f"\nwrk -t2, {args.duration} s per run, {THREADS} worker threads, {backend}, "
          f"{args.users} users x 20 tasks, list body {len(bench.list_body)} bytes\n")
    print("| scenario | conns | req/s | p50 ms | p99 ms | non-2xx | vs ceiling req/s | p99 vs ceiling | responder CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, connections, result, ceiling in rows:
        ratio = f"{result['rps'] / ceiling['rps']:.0%}" if ceiling else "—"
        p99_ratio = f"{result['p99_us'] / max(ceiling['p99_us'], 1):.1f}x" if ceiling else "—"
        cpu = f"{result['cpu_us_per_request']:.1f}" if name != "static" else "—"
        print(f"| {name} | {connections} | {result['rps']:.0f} | {result['p50_us'] / 1000:.2f} | {result['p99_us'] / 1000:.2f} "
              f"| {result['non2xx']} | {ratio} | {p99_ratio} | {cpu} |")
    print(f"\nworker RSS: {rss_before / 1024:.1f} MiB before the runs, {rss_after / 1024:.1f} MiB after "
          f"({parts_after[0]:.1f} private anonymous, {parts_after[1]:.1f} file-backed and shared), "
          f"{rss_settled / 1024:.1f} MiB 6 s later; "
          f"start-up to first /health answered through nginx: {bench.startup_ms:.0f} ms")
    if idle:
        held, worst = idle
        print(f"\nidle front ends: two more nginx instances left {held} idle connections on the worker; a fresh "
              f"front end's 8 concurrent GET list on new connections, worst latency per round (ms): "
              + ", ".join(f"{ms:.1f}" for ms in worst))
    if args.scale:
        print(f"\ndatabase prefilled with {args.scale} tasks over 10,000 other users; query plans for the user "
              f"with 5,000 of them:\n{plans}")
    if soak:
        total = sum(requests for requests, _ in soak)
        print(f"\nsoak, GET list at 32 connections: {total} requests; worker RSS (MiB) every interval: "
              + ", ".join(f"{rss / 1024:.1f}" for _, rss in soak))


if __name__ == "__main__":
    main()
