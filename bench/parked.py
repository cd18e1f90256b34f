#!/usr/bin/env python3
"""Thousands of writes waiting for their flush at once: what they cost the worker.

Starts one worker (8 threads) whose every fdatasync takes FLUSH seconds (bench/flush-delay.c),
opens WRITES FastCGI connections straight to its socket (nginx's own defaults cap a process at
4,096 connections, see docs/OPERATIONS.md), sends a POST create on each, and while they wait
samples the worker's threads (/proc/PID/task), its RSS and its `todo_requests_parked` gauge,
and times a GET list sent meanwhile. Then reads every answer: each must be 201. Prints a
Markdown table. Loopback only; bounded by --timeout.

    python3 bench/parked.py [--writes 5000] [--flush-seconds 2] [--worker PATH]
"""
import argparse
import os
import re
import resource
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from run import SECRET, WORKER, flush_delay_library, rss_kib, token  # noqa: E402


def record(kind, request_id, content=b""):
    padding = -len(content) % 8
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), padding, 0) + content + b"\0" * padding


def pair(name, value):
    def length(data):
        return bytes([len(data)]) if len(data) < 128 else struct.pack(">I", len(data) | 0x80000000)
    return length(name) + length(value) + name + value


def fastcgi(method, uri, bearer, body=b""):
    """One FastCGI request (id 1, connection kept) as nginx would send it."""
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "CONTENT_LENGTH": str(len(body)),
              "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": "Bearer " + bearer,
              "SERVER_PROTOCOL": "HTTP/1.1"}
    encoded = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    out = record(1, 1, struct.pack(">HB5x", 1, 1)) + record(4, 1, encoded) + record(4, 1)
    if body:
        out += record(5, 1, body)
    return out + record(5, 1)


def status_of(answer):
    """The HTTP status in a whole FastCGI answer (stdout records until END_REQUEST), else None."""
    stdout, offset = b"", 0
    while offset + 8 <= len(answer):
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", answer[offset:offset + 8])
        if offset + 8 + length + padding > len(answer):
            return None
        if kind == 6:
            stdout += answer[offset + 8:offset + 8 + length]
        if kind == 3:
            match = re.match(rb"Status: (\d+)", stdout)
            return int(match.group(1)) if match else 200
        offset += 8 + length + padding
    return None


def read_answer(client):
    """Reads one whole FastCGI answer from `client`: (status or None when it closed first, bytes)."""
    answer = b""
    while (status := status_of(answer)) is None:
        chunk = client.recv(65536)
        if not chunk:
            break
        answer += chunk
    return status, answer


def exchange(path, request, timeout):
    """Sends `request` on a new connection to `path` and returns (status, seconds, answer)."""
    began = time.monotonic()
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(timeout)
        client.connect(path)
        client.sendall(request)
        status, answer = read_answer(client)
        return status, time.monotonic() - began, answer


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def parked_gauge(path, bearer):
    _, _, answer = exchange(path, fastcgi("GET", "/metrics", bearer), 10)
    match = re.search(rb"\ntodo_requests_parked (\d+)", answer)
    return int(match.group(1)) if match else -1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--flush-seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--worker", default=WORKER, help="the todo-fcgi binary (default: this tree's release build)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.writes + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    directory = tempfile.mkdtemp(prefix="todo-fcgi-parked-")
    path = os.path.join(directory, "worker.sock")
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=os.path.join(directory, "bench.db"),
               TODO_LOG_LEVEL="warn", LD_PRELOAD=flush_delay_library(directory),
               FLUSH_DELAY_US=str(int(args.flush_seconds * 1e6)))
    worker = subprocess.Popen([args.worker, "serve", "--listen", path, "--threads", "8",
                               "--max-connections", str(args.writes + 64)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + args.timeout
    try:
        while not os.path.exists(path):
            time.sleep(0.02)
        bearer = token("parked-user")
        body = b'{"title":"parked"}'
        # The first writes of a fresh WAL flush inside SQLite's own lock (not parked): past them.
        for _ in range(3):
            assert exchange(path, fastcgi("POST", "/api/parked-user/tasks", bearer, body), 60)[0] == 201
        baseline_threads, baseline_rss = threads_of(worker.pid), rss_kib(worker.pid)

        selector = selectors.DefaultSelector()
        answers = {}
        request = fastcgi("POST", "/api/parked-user/tasks", bearer, body)
        began = time.monotonic()
        for index in range(args.writes):
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            client.sendall(request)
            client.setblocking(False)
            selector.register(client, selectors.EVENT_READ, index)
            answers[index] = b""
        sent = time.monotonic() - began
        most_parked, most_threads, most_rss, list_seconds = 0, 0, 0, None
        statuses = {}
        while len(statuses) < args.writes and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.05):
                chunk = key.fileobj.recv(65536)
                answers[key.data] += chunk
                status = status_of(answers[key.data])
                if status is not None or not chunk:
                    statuses[key.data] = status
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
            if len(statuses) < args.writes:
                most_threads = max(most_threads, threads_of(worker.pid))
                most_rss = max(most_rss, rss_kib(worker.pid))
                parked = parked_gauge(path, bearer)
                if parked > most_parked:
                    most_parked = parked
                    if list_seconds is None and parked >= args.writes // 2:
                        status, list_seconds, _ = exchange(path, fastcgi("GET", "/api/parked-user/tasks?limit=20", bearer), 10)
                        assert status == 200, status
        elapsed = time.monotonic() - began
        created = sum(1 for status in statuses.values() if status == 201)
        print(f"| writes sent at once | {args.writes} (in {sent:.2f} s, one connection each, straight to the socket) |")
        print(f"| flush | {args.flush_seconds:g} s per fdatasync |")
        print(f"| answered 201 | {created} of {args.writes}, the last after {elapsed:.1f} s; other statuses: "
              f"{sorted(set(s for s in statuses.values() if s != 201)) or 'none'} |")
        print(f"| most parked at once (`todo_requests_parked`) | {most_parked} |")
        print(f"| worker threads | {baseline_threads} before, at most {most_threads} while they waited |")
        print(f"| worker RSS | {baseline_rss / 1024:.1f} MiB before, at most {most_rss / 1024:.1f} MiB while they waited "
              f"(+{(most_rss - baseline_rss) / max(most_parked, 1):.2f} KiB per parked write) |")
        print(f"| a GET list meanwhile | {list_seconds * 1000:.1f} ms |" if list_seconds is not None
              else "| a GET list meanwhile | not sent (fewer than half were ever parked at once) |")
        return 0 if created == args.writes else 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    sys.exit(main())
