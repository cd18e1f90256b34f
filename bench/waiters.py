#!/usr/bin/env python3
"""Live sync (contract §13) under load: what waiting requests cost, and how fast a write wakes them.

Three measurements, each printed as a Markdown table (loopback only, bounded by --timeout):

1. **Held waiters vs. reads** (through the product's nginx, 2 processes x 8 threads, SQLite):
   GET list of another user at c8 with wrk, alone and again while WAITERS requests (USERS users x
   WAITERS/USERS each) wait with wait=60; p99 and req/s of both, and errors.
2. **Wake latency**: for each user in turn, a POST create acknowledged → each of that user's
   waiters answered; p50/p99/max over every waiter, and whether other users' waiters stayed
   waiting. SQLite: one stack of 2 processes (waiters and writes spread over both). With
   --postgres URI: two stacks ("hosts") on one database, waiters on one, writes through the other.
3. **10,000 waiters in one process** (straight to its FastCGI socket, as bench/parked.py):
   threads and RSS before and while they wait.

    python3 bench/waiters.py [--waiters 2000] [--users 200] [--one-process 10000] [--postgres URI]
"""
import argparse
import json
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "IntegrationTests"))
from parked import exchange, fastcgi, read_answer, threads_of  # noqa: E402
from run import SECRET, WORKER, rss_kib, token  # noqa: E402


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def http(port, method, path, bearer, body=None):
    request = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n"
               + (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else "") + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request + (body or b""))
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def cursor_of(port, user, bearer):
    status, payload = http(port, "GET", f"/api/{user}/tasks/changes", bearer)
    assert status == 200, payload
    return json.loads(payload)["cursor"]


class Waits:
    """Raw HTTP requests to nginx left waiting, read together: per socket its answer and when it came."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.answers, self.answered_at, self.owner = {}, {}, {}

    def open(self, port, user, bearer, cursor, count, wait=60):
        request = (f"GET /api/{user}/tasks/changes?since={cursor}&wait={wait} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {bearer}\r\nConnection: close\r\n\r\n").encode()
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(request)
            client.setblocking(False)
            self.selector.register(client, selectors.EVENT_READ)
            self.answers[client], self.owner[client] = b"", user

    def poll(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for key, _ in self.selector.select(timeout=0.005):
                data = key.fileobj.recv(65536)
                if data:
                    self.answers[key.fileobj] += data
                    self.answered_at.setdefault(key.fileobj, time.monotonic())
                else:
                    self.selector.unregister(key.fileobj)
                    key.fileobj.close()

    def answered(self, user=None):
        return [s for s in self.answered_at if user is None or self.owner[s] == user]

    def close(self):
        for client in list(self.answers):
            try:
                self.selector.unregister(client)
            except (KeyError, ValueError):
                pass
            client.close()


def wrk(port, path, bearer, seconds):
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {bearer}",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rate, float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0, socket_errors.group(1) if socket_errors else "none"


def held_waiters(args, Stack, token):
    stack = Stack(processes=2, threads=8, env={"TODO_LOG_LEVEL": "warn"}, database=None).start()
    try:
        reader, reader_token = "bench-reader", token("bench-reader")
        for index in range(20):
            http(stack.port, "POST", f"/api/{reader}/tasks", reader_token, json.dumps({"title": f"t{index}"}).encode())
        list_path = f"/api/{reader}/tasks?limit=20"
        alone = wrk(stack.port, list_path, reader_token, args.seconds)
        waits = Waits()
        per_user = args.waiters // args.users
        for index in range(args.users):
            user = f"bench-waiter-{index}"
            bearer = token(user)
            waits.open(stack.port, user, bearer, cursor_of(stack.port, user, bearer), per_user)
        waits.poll(1.0)
        held = wrk(stack.port, list_path, reader_token, args.seconds)
        early = len(waits.answered())
        waits.close()
        print(f"\n### {args.waiters} waiters ({args.users} users x {per_user}) held while GET list (20 tasks) c8, "
              f"2 processes x 8 threads, {args.seconds} s each\n")
        print("| | req/s | p99 ms | non-2xx | socket errors |\n|---|---|---|---|---|")
        print(f"| alone | {alone[0]:.0f} | {alone[1]:.2f} | {alone[2]} | {alone[3]} |")
        print(f"| with {args.waiters} waiting | {held[0]:.0f} | {held[1]:.2f} | {held[2]} | {held[3]} |")
        print(f"\nwaiters answered before any change: {early} (must be 0); ratio {held[0] / alone[0]:.2f}")
    finally:
        stack.stop()


def wake_latency(args, Stack, token, postgres):
    if postgres:
        waiting = Stack(processes=1, threads=8, env={"TODO_LOG_LEVEL": "warn"}, database=postgres).start()
        writing = Stack(processes=1, threads=8, env={"TODO_LOG_LEVEL": "warn"}, database=postgres).start()
        label = "PostgreSQL, 2 hosts (waiters on one stack, writes through the other)"
    else:
        waiting = writing = Stack(processes=2, threads=8, env={"TODO_LOG_LEVEL": "warn"}).start()
        label = "SQLite, 2 processes (waiters and writes spread over both)"
    try:
        waits = Waits()
        per_user = args.waiters // args.users
        users = [(f"wake-{index}", token(f"wake-{index}")) for index in range(args.users)]
        for user, bearer in users:
            waits.open(waiting.port, user, bearer, cursor_of(waiting.port, user, bearer), per_user)
        waits.poll(1.0)
        assert not waits.answered(), "a waiter answered before any change"
        latencies, others_early = [], 0
        for index, (user, bearer) in enumerate(users[:args.wake_users]):
            status, _ = http(writing.port, "POST", f"/api/{user}/tasks", bearer, b'{"title":"wake"}')
            acknowledged = time.monotonic()
            assert status == 201
            deadline = acknowledged + 5
            while len(waits.answered(user)) < per_user and time.monotonic() < deadline:
                waits.poll(0.01)
            latencies += [waits.answered_at[s] - acknowledged for s in waits.answered(user)]
            later = {u for u, _ in users[index + 1:]}
            others_early += sum(1 for s in waits.answered() if waits.owner[s] in later)
        woken = len(latencies)
        expected = per_user * min(args.wake_users, args.users)
        waits.close()
        print(f"\n### Wake-up: write acknowledged → waiter answered, {label}; {args.users} users x {per_user} waiting, "
              f"the first {args.wake_users} users written in turn\n")
        print("| woken | p50 ms | p99 ms | max ms | other users' waiters answered early |\n|---|---|---|---|---|")
        print(f"| {woken} of {expected} | {percentile(latencies, 0.5) * 1000:.2f} | {percentile(latencies, 0.99) * 1000:.2f} "
              f"| {max(latencies) * 1000:.2f} | {others_early} |")
    finally:
        waiting.stop()
        if writing is not waiting:
            writing.stop()


def one_process(args):
    directory = tempfile.mkdtemp(prefix="todo-fcgi-waiters-")
    path = os.path.join(directory, "worker.sock")
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=os.path.join(directory, "bench.db"), TODO_LOG_LEVEL="warn")
    worker = subprocess.Popen([WORKER, "serve", "--listen", path, "--threads", "8", "--max-connections",
                               # The room leaves a quarter of the connections to requests that do not wait.
                               str(args.one_process * 4 // 3 + 64), "--max-waiters", str(args.one_process),
                               "--max-waits-per-user", str(args.one_process)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(path):
            time.sleep(0.02)
        bearer = token("lone-waiter")
        _, _, answer = exchange(path, fastcgi("GET", "/api/lone-waiter/tasks/changes", bearer), 10)
        cursor = re.search(rb'"cursor":"([^"]+)"', answer).group(1).decode()
        time.sleep(1)
        threads_before, rss_before = threads_of(worker.pid), rss_kib(worker.pid)
        request = fastcgi("GET", f"/api/lone-waiter/tasks/changes?since={cursor}&wait=60", bearer)
        clients = []
        for _ in range(args.one_process):
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            client.sendall(request)
            clients.append(client)
        gauge = 0
        deadline = time.monotonic() + 60
        while gauge < args.one_process and time.monotonic() < deadline:
            time.sleep(0.5)
            _, _, metrics = exchange(path, fastcgi("GET", "/metrics", bearer), 10)
            found = re.search(rb"\ntodo_sync_waiters (\d+)", metrics)
            gauge = int(found.group(1)) if found else -1
        threads_during, rss_during = threads_of(worker.pid), rss_kib(worker.pid)
        began = time.monotonic()
        exchange(path, fastcgi("POST", "/api/lone-waiter/tasks", bearer, b'{"title":"wake all"}'), 10)
        statuses = []
        for client in clients:
            client.settimeout(30)
            statuses.append(read_answer(client)[0])
            client.close()
        all_woken = time.monotonic() - began
        print(f"\n### {args.one_process} waiters in one process (8 threads), straight to its socket\n")
        print("| waiting (gauge) | threads before → during | RSS before → during | per waiter | one write wakes all, answered 200 | in |")
        print("|---|---|---|---|---|---|")
        print(f"| {gauge} | {threads_before} → {threads_during} | {rss_before / 1024:.1f} → {rss_during / 1024:.1f} MiB "
              f"| {(rss_during - rss_before) / args.one_process:.1f} KiB | {statuses.count(200)} of {len(statuses)} | {all_woken:.2f} s |")
    finally:
        worker.terminate()
        worker.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiters", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--wake-users", type=int, default=50, help="users written in turn for the wake-up latency")
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--one-process", type=int, default=10000)
    parser.add_argument("--postgres", help="an admin URI (as TODO_TEST_POSTGRES): also the 2-host wake-up on PostgreSQL")
    parser.add_argument("--only", choices=["held", "wake", "one"], help="run one measurement")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, args.one_process + args.waiters + 2048), hard), hard))
    os.environ.setdefault("TODO_FCGI_BIN", WORKER)
    import stack as integration  # noqa: E402  (after TODO_FCGI_BIN is set)
    if args.only in (None, "held"):
        held_waiters(args, integration.Stack, integration.make_token)
    if args.only in (None, "wake"):
        wake_latency(args, integration.Stack, integration.make_token, None)
        if args.postgres:
            integration.POSTGRES_ADMIN = args.postgres
            wake_latency(args, integration.Stack, integration.make_token, integration.create_postgres_database())
    if args.only in (None, "one"):
        one_process(args)


if __name__ == "__main__":
    main()
