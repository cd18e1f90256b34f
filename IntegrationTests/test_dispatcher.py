"""Threads serve requests, not connections: the dispatcher through real nginx instances.

Idle kept-alive connections (from several nginx instances, or from a client that connects and
never sends) must not hold worker threads; bursts of writes queue fairly; overload is a 503 JSON
with Retry-After; SIGTERM under load fails no request; the TCP allow-list is enforced.
"""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from stack import BINARY, REPO, SECRET, Stack, free_port, make_token, percentile, pid_alive, run_in_threads


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def extra_nginx(stack, name, upstream=None):
    """Another nginx instance (a second front end) on the same worker socket; returns (process, port)."""
    run_dir = os.path.join(stack.dir, name)
    port = free_port()
    conf = subprocess.run([os.path.join(REPO, "scripts", "render-nginx-conf.sh"), run_dir, str(port), stack.socket_path],
                          check=True, capture_output=True, text=True).stdout
    if upstream:
        conf = conf.replace(f"server unix:{stack.socket_path};", f"server {upstream};")
    path = os.path.join(run_dir, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    process = subprocess.Popen(["nginx", "-c", path, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    return process, port


def get(port, path, token=None, timeout=30):
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def hammer(port, path, token, connections, seconds):
    """`connections` clients sending GETs for `seconds`; returns the statuses."""
    statuses = []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def client(_):
        while time.time() < deadline:
            status = get(port, path, token)
            with lock:
                statuses.append(status)

    run_in_threads(client, connections)
    return statuses


def test_idle_connections_of_other_front_ends_hold_no_thread():
    stack = Stack(processes=1, threads=2).start()
    fronts = []
    try:
        token = make_token("fronts")
        assert stack.request("POST", "/api/fronts/tasks", token, {"title": "t"}).status == 201
        worker = stack.worker_pids[0]
        baseline = open_descriptors(worker)
        for name in ("front-b", "front-c"):
            fronts.append(extra_nginx(stack, name))
        for _, port in fronts:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    if get(port, "/health") == 200:
                        break
                except OSError:
                    time.sleep(0.05)
        # Both extra front ends load the API, then go idle, keeping their upstream connections
        # (up to 32 per nginx worker) open to the worker: more than its 2 threads.
        run_in_threads(lambda n: hammer(fronts[n][1], "/api/fronts/tasks", token, 48, 1.5), len(fronts))
        held = open_descriptors(worker) - baseline
        assert held > 2 * 2, f"the idle front ends should hold more connections than threads, got {held}"
        # A fresh request through the first front end is served at once, not after the idle
        # connections time out (it took 3.8 s when each idle connection pinned a thread).
        started = time.time()
        assert stack.request("GET", "/api/fronts/tasks", token).status == 200
        assert time.time() - started < 1.0
    finally:
        for process, _ in fronts:
            process.terminate()
            process.wait(timeout=10)
        stack.stop()


def test_connections_that_never_send_hold_no_thread():
    stack = Stack(processes=1, threads=2).start()
    silent = []
    try:
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(stack.socket_path)
            silent.append(s)
        time.sleep(0.2)
        token = make_token("silent")
        started = time.time()
        for i in range(5):
            assert stack.request("POST", "/api/silent/tasks", token, {"title": f"t{i}"}).status == 201
        assert time.time() - started < 2.0
        assert open_descriptors(stack.worker_pids[0]) >= 200
    finally:
        for s in silent:
            s.close()
        stack.stop()


def test_burst_of_64_concurrent_writes_all_succeed_promptly():
    stack = Stack(processes=1, threads=8).start()
    try:
        token = make_token("burst")
        results = []
        lock = threading.Lock()
        barrier = threading.Barrier(64)

        def writer(n):
            barrier.wait()
            for i in range(5):
                started = time.time()
                status = stack.request("POST", "/api/burst/tasks", token, {"title": f"w{n}-{i}"}).status
                with lock:
                    results.append((status, time.time() - started))

        run_in_threads(writer, 64)
        statuses = [status for status, _ in results]
        assert statuses.count(201) == 320, sorted(set(statuses))
        p99 = percentile([elapsed for _, elapsed in results], 0.99)
        # Loose in CI (a 2-core machine running the test's own 64 client threads); the tight
        # target (25 ms at 32 connections, 50 ms at 64) is measured by bench/run.sh.
        assert p99 < 2.0, f"p99 {p99:.3f}s"
        assert stack.request("GET", "/api/burst/tasks?limit=1", token).header("X-Total-Count") == "320"
    finally:
        stack.stop()


def test_a_request_that_waits_past_the_queue_timeout_gets_503_json_with_retry_after():
    stack = Stack(processes=1, threads=1, env={"TODO_QUEUE_TIMEOUT": "1"}).start()
    try:
        token = make_token("crowd")
        responses = []
        lock = threading.Lock()

        def client(n):
            for i in range(10):
                response = stack.request("POST", "/api/crowd/tasks", token, {"title": f"c{n}-{i}"})
                with lock:
                    responses.append(response)

        run_in_threads(client, 32)
        statuses = [r.status for r in responses]
        shed = [r for r in responses if r.status == 503]
        assert set(statuses) <= {201, 503}, sorted(set(statuses))
        assert shed, "one thread and a 1 ms queue timeout under 32 clients must shed some requests"
        assert all(r.is_error("overloaded") and r.header("Retry-After") == "1" for r in shed)
        # A shed request did nothing: exactly the 201s were stored.
        listed = stack.request("GET", "/api/crowd/tasks?limit=1", token)
        assert listed.header("X-Total-Count") == str(statuses.count(201))
    finally:
        stack.stop()


def test_sigterm_to_one_of_two_workers_under_64_connections_fails_no_request():
    stack = Stack(processes=2, threads=8).start()
    try:
        token = make_token("graceful64")
        statuses = []
        lock = threading.Lock()
        stop_at = [time.time() + 3.0]

        def client(n):
            i = 0
            while time.time() < stop_at[0]:
                response = stack.request("POST", "/api/graceful64/tasks", token, {"title": f"c{n}-{i}"})
                with lock:
                    statuses.append(response.status)
                i += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        victim = stack.worker_pids.pop(0)
        os.kill(victim, signal.SIGTERM)
        for t in threads:
            t.join()
        deadline = time.time() + 20
        while time.time() < deadline and pid_alive(victim):
            time.sleep(0.05)
        assert not pid_alive(victim), "the stopped worker did not exit"
        assert statuses and statuses.count(201) == len(statuses), sorted(set(statuses))
        listed = stack.request("GET", "/api/graceful64/tasks?limit=1", token)
        assert listed.header("X-Total-Count") == str(len(statuses))
    finally:
        stack.stop()


@pytest.mark.single_backend
def test_tcp_listener_refuses_peers_outside_fcgi_web_server_addrs(tmp_path):
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=str(tmp_path / "tcp.db"))
    subprocess.run([BINARY, "migrate"], env=env, check=True, capture_output=True)
    results = {}
    for allowed in ("127.0.0.2", "127.0.0.1"):
        port = free_port()
        worker = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--threads", "2"],
                                  env=dict(env, FCGI_WEB_SERVER_ADDRS=allowed),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack = Stack(processes=1, threads=2)
        stack.start_workers = lambda: None
        front = None
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            os.makedirs(stack.dir, exist_ok=True)
            front, front_port = extra_nginx(stack, "front", upstream=f"127.0.0.1:{port}")
            deadline = time.time() + 10
            status = None
            while time.time() < deadline:
                try:
                    status = get(front_port, "/health", timeout=5)
                    break
                except OSError:
                    time.sleep(0.05)
            results[allowed] = status
        finally:
            if front:
                front.terminate()
                front.wait(timeout=10)
            worker.terminate()
            worker.wait(timeout=20)
            stack.stop()
    # nginx connects from 127.0.0.1: refused (502) when only 127.0.0.2 is allowed.
    assert results == {"127.0.0.2": 502, "127.0.0.1": 200}
