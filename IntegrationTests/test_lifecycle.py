"""Worker lifecycle through nginx: 502 JSON while the workers are down, clean SIGTERM exit."""
import os
import signal
import subprocess
import threading
import time

import pytest

from stack import BINARY, SECRET, Stack, make_token


@pytest.fixture
def own_stack():
    s = Stack(processes=1, threads=2).start()
    yield s
    s.stop()


def test_502_json_while_workers_are_down_then_recovery(own_stack):
    token = make_token("alice")
    assert own_stack.request("POST", "/api/alice/tasks", token, {"title": "before"}).status == 201
    own_stack.stop_workers()
    response = own_stack.request("GET", "/api/alice/tasks", token)
    assert response.status == 502 and response.is_error("bad_gateway")
    own_stack.start_workers()
    own_stack.wait_healthy()
    listed = own_stack.request("GET", "/api/alice/tasks", token)
    assert [t["title"] for t in listed.json] == ["before"]


@pytest.mark.single_backend
def test_sigterm_finishes_in_flight_requests_and_exits_zero(tmp_path):
    socket_path = str(tmp_path / "w.sock")
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=str(tmp_path / "w.db"))
    worker = subprocess.Popen([BINARY, "serve", "--listen", socket_path, "--threads", "4"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stack = Stack(processes=1, threads=4)
    stack.socket_path = socket_path
    stack.start_workers = lambda: None  # the worker above is the one under test
    try:
        deadline = time.time() + 10
        while not os.path.exists(socket_path) and time.time() < deadline:
            time.sleep(0.02)
        stack.start()
        token = make_token("alice")
        statuses = []

        def client():
            for i in range(30):
                statuses.append(stack.request("POST", "/api/alice/tasks", token, {"title": f"t{i}"}).status)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        for t in threads:
            t.join()
        # Every request was either completed (201) or refused by nginx because no worker was left (502);
        # none was cut off half-way (which nginx would also report as 502, so count the rows too).
        assert set(statuses) <= {201, 502}
        assert b"shutting down" in worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
        stack.stop()
    import sqlite3
    rows = sqlite3.connect(str(tmp_path / "w.db")).execute("select count(*) from tasks").fetchone()[0]
    assert rows == statuses.count(201)


def test_sigterm_to_one_of_two_workers_fails_no_request():
    # A light load (6 clients, 40 requests each); test_dispatcher.py repeats this under 64
    # connections. (6 threads once kept the survivor from being pinned by idle connections;
    # since the dispatcher, idle connections hold no thread.)
    stack = Stack(processes=2, threads=6).start()
    try:
        token = make_token("graceful")
        statuses = []
        lock = threading.Lock()

        def client(n):
            for i in range(40):
                response = stack.request("POST", "/api/graceful/tasks", token, {"title": f"c{n}-{i}"})
                with lock:
                    statuses.append(response.status)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.1)
        victim = stack.worker_pids.pop(0)
        os.kill(victim, signal.SIGTERM)
        for t in threads:
            t.join()
        deadline = time.time() + 20
        while time.time() < deadline and os.path.exists(f"/proc/{victim}") and \
                open(f"/proc/{victim}/stat").read().split(")")[-1].split()[0] != "Z":
            time.sleep(0.05)
        # The surviving worker took over: every request succeeded and every one was stored.
        assert statuses.count(201) == len(statuses) == 240, sorted(set(statuses))
        listed = stack.request("GET", "/api/graceful/tasks?limit=1000", token)
        assert listed.header("X-Total-Count") == "240"
    finally:
        stack.stop()
