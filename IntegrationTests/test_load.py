"""Contention and soak, bounded for CI (CONTENTION_SECONDS, SOAK_SECONDS; longer locally).

    CONTENTION_SECONDS=60 SOAK_SECONDS=600 python3 -m pytest -s IntegrationTests/test_load.py
"""
import os
import threading
import time

from stack import Stack, make_token, percentile

CONTENTION_SECONDS = float(os.environ.get("CONTENTION_SECONDS", "15"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))


def test_64_concurrent_writers_across_processes():
    stack = Stack(processes=2, threads=16).start()
    try:
        latencies, statuses, bodies = [], [], []
        lock = threading.Lock()
        deadline = time.time() + CONTENTION_SECONDS

        def writer(n):
            token = make_token(f"writer-{n % 8}")   # 8 users, 8 writers each: same rows contended too
            user = f"writer-{n % 8}"
            while time.time() < deadline:
                started = time.time()
                response = stack.request("POST", f"/api/{user}/tasks", token, {"title": f"w{n}"})
                if response.status == 201:
                    stack.request("PATCH", f"/api/{user}/tasks/{response.json['id']}/complete", token)
                with lock:
                    latencies.append(time.time() - started)
                    statuses.append(response.status)
                    if response.status >= 500:
                        bodies.append(response.body)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [s for s in statuses if s >= 500] == [], bodies[:3]
        assert not any(b"locked" in b for b in bodies)
        assert statuses.count(201) == len(statuses) > 0
        total = sum(int(stack.request("GET", f"/api/writer-{u}/tasks?limit=1", make_token(f"writer-{u}"))
                        .header("X-Total-Count")) for u in range(8))
        assert total == len(statuses)
        print(f"\ncontention: 64 writers, 2 processes x 16 threads, {CONTENTION_SECONDS:.0f} s: {len(statuses)} creates"
              f" (+ as many PATCHes), 0 5xx; create+patch p50 {percentile(latencies, .5) * 1000:.1f} ms,"
              f" p99 {percentile(latencies, .99) * 1000:.1f} ms")
    finally:
        stack.stop()


def process_stats(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = int(next(line for line in f if line.startswith("VmRSS")).split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def test_soak_mixed_workload_keeps_memory_and_descriptors_flat():
    stack = Stack(processes=1, threads=8).start()
    try:
        pid = stack.worker_pids[0]
        errors = []
        lock = threading.Lock()

        def run_clients(seconds):
            """Eight clients of mixed reads and writes for `seconds`; returns their latencies."""
            latencies = []
            deadline = time.time() + seconds

            def client(n):
                token = make_token(f"soak-{n}")
                user = f"soak-{n}"
                i = 0
                while time.time() < deadline:
                    i += 1
                    started = time.time()
                    if i % 20 == 0:
                        response = stack.request("POST", f"/api/{user}/tasks", token, {"title": f"s{i}"})
                        ok = response.status == 201
                        if ok and i % 40 == 0:
                            ok = stack.request("DELETE", response.header("Location"), token).status == 204
                    else:
                        ok = stack.request("GET", f"/api/{user}/tasks?limit=20", token).status == 200
                    with lock:
                        latencies.append(time.time() - started)
                        if not ok:
                            errors.append(i)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return latencies

        def settled_stats():
            # Idle long enough for nginx to close its kept connections (keepalive_timeout 4s),
            # so descriptors are compared in the same state, not mid-connection.
            time.sleep(5)
            return process_stats(pid)

        run_clients(min(5, SOAK_SECONDS / 4))   # warm-up: caches fill
        start_rss, start_fds = settled_stats()
        latencies = run_clients(SOAK_SECONDS)
        end_rss, end_fds = settled_stats()
        first, second = latencies[:len(latencies) // 2], latencies[len(latencies) // 2:]
        assert errors == []
        assert abs(end_rss - start_rss) <= 0.05 * start_rss, (start_rss, end_rss)
        assert end_fds == start_fds, (start_fds, end_fds)
        assert percentile(second, .99) <= 3 * percentile(first, .99) + 0.005
        print(f"\nsoak: {len(latencies)} requests in {SOAK_SECONDS:.0f} s, 0 errors; RSS {start_rss} -> {end_rss} KiB;"
              f" fds {start_fds} -> {end_fds}; p99 {percentile(first, .99) * 1000:.1f} ms (first half),"
              f" {percentile(second, .99) * 1000:.1f} ms (second half)")
    finally:
        stack.stop()


def test_broken_clients_do_not_hold_worker_threads():
    """Clients that close mid-request or never read their (large) responses: nginx buffers
    both ways, so the worker's threads stay free for everyone else."""
    import socket
    # 6 threads: above the 4 idle kept connections nginx may pin (2 workers x keepalive 2).
    stack = Stack(processes=1, threads=6).start()
    try:
        token = make_token("reader")
        for i in range(60):
            stack.request("POST", "/api/reader/tasks", token, {"title": f"t{i}", "description": "d" * 900})
        request = (f"GET /api/reader/tasks?limit=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
        stuck = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", stack.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(request * 3)                     # asks for ~180 KiB and never reads it
            stuck.append(s)
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", stack.port))
            s.sendall(b"POST /api/reader/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"tit")
            s.close()                                  # gone mid-request
        started = time.time()
        for _ in range(20):
            assert stack.request("GET", "/api/reader/tasks?limit=5", token).status == 200
        assert time.time() - started < 5
        for s in stuck:
            s.close()
        assert stack.request("GET", "/health").status == 200
    finally:
        stack.stop()
