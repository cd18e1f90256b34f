"""kill -9 under write load: every write the client saw acknowledged survives, exactly."""
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from stack import BINARY, REPO, Stack, make_token

pytestmark = pytest.mark.single_backend


class Supervisor:
    """Holds the listening socket and hands it to each worker on fd 0, as systemd does, so a
    killed worker can be replaced on the same socket (spawn-fcgi cannot do that)."""

    def __init__(self, stack):
        self.stack = stack
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(stack.socket_path)
        self.listener.listen(1024)
        self.processes = []

    def spawn(self):
        process = subprocess.Popen([BINARY, "serve", "--threads", str(self.stack.threads)], stdin=self.listener.fileno(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.stack.env)
        self.processes.append(process)
        return process

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=20)
        self.listener.close()


def flush_delay_library(directory):
    """bench/flush-delay.c built into `directory`: every fsync/fdatasync 2 ms slower."""
    library = os.path.join(directory, "flush-delay.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, os.path.join(REPO, "bench", "flush-delay.c"), "-ldl"],
                   check=True)
    return library


@pytest.mark.parametrize("slow_flushes", [False, True], ids=["page-cache-flushes", "2ms-flushes"])
def test_sigkill_under_write_load_loses_no_acknowledged_write(slow_flushes, tmp_path):
    # 6 threads per process: one killed process never leaves the other pinned by kept connections.
    # With slow flushes (as on a server's block storage, via an LD_PRELOAD shim), more writes are
    # in flight, between their statement and a durable commit, at each kill.
    env = {"LD_PRELOAD": flush_delay_library(str(tmp_path)), "FLUSH_DELAY_US": "2000"} if slow_flushes else {}
    stack = Stack(processes=2, threads=6, env=env)
    supervisor = None

    def start_supervised():
        nonlocal supervisor
        subprocess.run([BINARY, "migrate"], env=stack.env, check=True, capture_output=True)
        supervisor = Supervisor(stack)
        supervisor.spawn()
        supervisor.spawn()

    stack.start_workers = start_supervised
    stack.start()
    try:
        expected = {}        # task id -> (title, completed) as last acknowledged, or None once deleted
        lock = threading.Lock()
        failures = []
        stop = threading.Event()

        def client(n):
            token = make_token(f"crash-{n}")
            i = 0
            while not stop.is_set():
                i += 1
                created = stack.request("POST", f"/api/crash-{n}/tasks", token, {"title": f"c{n}-{i}"})
                if created.status != 201:
                    failures.append(("POST", created.status))
                    continue
                task = created.json
                with lock:
                    expected[task["id"]] = (task["title"], False)
                if i % 3 == 0:
                    patched = stack.request("PATCH", f"/api/crash-{n}/tasks/{task['id']}/complete", token, {"completed": True})
                    if patched.status == 200:
                        with lock:
                            expected[task["id"]] = (task["title"], True)
                    else:
                        failures.append(("PATCH", patched.status))
                        with lock:
                            expected[task["id"]] = "unknown"   # in flight when the worker died: either state
                if i % 5 == 0:
                    deleted = stack.request("DELETE", f"/api/crash-{n}/tasks/{task['id']}", token)
                    if deleted.status == 204:
                        with lock:
                            expected[task["id"]] = None
                    else:
                        failures.append(("DELETE", deleted.status))
                        with lock:
                            expected[task["id"]] = "unknown"

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        kills = 0
        for _ in range(4):
            time.sleep(0.7)
            victim = next(p for p in supervisor.processes if p.poll() is None)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            supervisor.spawn()
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()

        connection = sqlite3.connect(stack.database)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {row[0]: (row[1], bool(row[2])) for row in connection.execute("SELECT id, title, completed FROM tasks")}
        acknowledged = {k: v for k, v in expected.items() if v != "unknown"}
        for task_id, state in acknowledged.items():
            if state is None:
                assert task_id not in rows, f"deleted task {task_id} came back"
            else:
                assert rows.get(task_id) == state, f"task {task_id}: acknowledged {state}, stored {rows.get(task_id)}"
        # Only requests in flight at a kill may fail, and nginx reports them as 502 JSON. nginx
        # retries an idempotent DELETE on the other worker: when the dead one had committed it,
        # the retry answers 404 (the task is gone either way).
        assert all(status == 502 or (method, status) == ("DELETE", 404) for method, status in failures), failures
        assert len(failures) <= kills * 6 * 2, failures
        print(f"\n{len(acknowledged)} acknowledged writes checked after {kills} SIGKILLs; "
              f"{len(failures)} requests failed while a worker died: {sorted(set(failures))}")
    finally:
        stack.stop()
        supervisor.close()
