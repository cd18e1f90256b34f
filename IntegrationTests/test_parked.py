"""A write waiting for its flush holds no thread: it is parked with its answer and completed by
the flush that makes it durable (docs/OPERATIONS.md, "Connections and threads")."""
import os
import re
import threading
import time

import pytest

from stack import Stack, make_token, run_in_threads
from test_crash import flush_delay_library
from test_faults import wait_for

pytestmark = pytest.mark.single_backend

FLUSH_SECONDS = 1.0
WRITES = 40


def gauge(metrics_text, name):
    match = re.search(rf"^{name} (\d+)", metrics_text, re.M)
    return int(match.group(1)) if match else None


def slow_flush_stack(tmp_path, seconds, user, env=None):
    """One process with two threads whose every flush takes `seconds`, past `user`'s first
    writes: those of a fresh WAL make SQLite itself sync, inside its write lock (every thread
    then waits for the lock, parked or not); after them, only the group's flush waits.
    `env` adds to the workers' environment. Returns the started stack and `user`'s token."""
    env = {"LD_PRELOAD": flush_delay_library(str(tmp_path)), "FLUSH_DELAY_US": str(int(seconds * 1e6)), **(env or {})}
    stack = Stack(processes=1, threads=2, env=env).start()
    token = make_token(user)
    try:
        for _ in range(2):
            assert stack.request("POST", f"/api/{user}/tasks", token, {"title": "warm-up"}).status == 201
    except BaseException:
        stack.stop()
        raise
    return stack, token


def test_writes_waiting_for_a_slow_flush_hold_no_thread_and_are_answered_only_after_it(tmp_path):
    # Every flush takes a second. Before parking, each waiting write held its thread for the
    # flush: two writes filled the process, and a read waited behind them.
    stack, token = slow_flush_stack(tmp_path, FLUSH_SECONDS, "parked")
    try:
        latencies = []
        statuses = []
        lock = threading.Lock()

        def write(n):
            began = time.monotonic()
            response = stack.request("POST", "/api/parked/tasks", token, {"title": f"parked {n}"})
            with lock:
                latencies.append(time.monotonic() - began)
                statuses.append(response.status)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITES)]
        for thread in writers:
            thread.start()
        time.sleep(FLUSH_SECONDS / 2)
        # Mid-flush: the writes are committed and parked, the threads are free.
        began = time.monotonic()
        metrics = stack.request("GET", "/metrics")
        health = stack.request("GET", "/health")
        listed = stack.request("GET", "/api/parked/tasks?limit=1", token)
        read_seconds = time.monotonic() - began
        assert metrics.status == 200 and health.status == 200 and listed.status == 200
        parked = gauge(metrics.body.decode(), "todo_requests_parked")
        busy = gauge(metrics.body.decode(), "todo_threads_busy")
        assert parked is not None and parked > 2 * stack.threads, metrics.body.decode()[:2000]
        assert busy is not None and busy <= stack.threads
        # Three requests answered while writes waited for the disk, well within one flush.
        assert read_seconds < FLUSH_SECONDS / 2, read_seconds
        # Nothing acknowledged before its flush; nothing acknowledged twice, nothing lost.
        assert statuses == [] or min(latencies) >= FLUSH_SECONDS * 0.9, latencies
        for thread in writers:
            thread.join(timeout=30)
        assert statuses == [201] * WRITES, statuses
        assert min(latencies) >= FLUSH_SECONDS * 0.9, sorted(latencies)[:5]
        # Two or three flushes cover all of them (a group per commit, one flush per many groups).
        assert max(latencies) < FLUSH_SECONDS * 4, sorted(latencies)[-5:]
        total = stack.request("GET", "/api/parked/tasks?limit=1", token)
        assert total.header("X-Total-Count") == str(WRITES + 2)
        after = stack.request("GET", "/metrics").body.decode()
        assert gauge(after, "todo_requests_parked") == 0
    finally:
        stack.stop()


def test_checkpoints_run_off_the_request_path_under_slow_flushes(tmp_path):
    # SQLite's automatic checkpoint runs inside the commit that crosses its threshold: two
    # flushes (the WAL, then the database file) while the writes behind it wait. With the
    # checkpointer thread no write waits for more than its own group's flush and the one before.
    flush = 0.5
    stack, token = slow_flush_stack(tmp_path, flush, "checkpointed")
    try:
        size_before = os.path.getsize(stack.database)
        latencies = []
        statuses = []
        lock = threading.Lock()
        # A quarter page per task and seven index entries: 960 of them are well past SQLite's
        # 1,000-frame threshold.
        description = "x" * 1000

        def writer(n):
            for i in range(30):
                began = time.monotonic()
                response = stack.request("POST", "/api/checkpointed/tasks", token,
                                         {"title": f"task {n}.{i}", "description": description})
                with lock:
                    latencies.append(time.monotonic() - began)
                    statuses.append(response.status)

        run_in_threads(writer, 32)
        assert statuses == [201] * 960, sorted(set(statuses))
        latencies.sort()
        # A write waits for at most the flush running when it committed and its own.
        # A write waits for the flush running when it committed and its own. Not one of them
        # waits through a commit's checkpoint (two more flushes, with the writes behind it):
        # before the checkpointer, 241 of these 960 writes took over 1.6 s and the 90th
        # percentile was 2.5 s. One round of writers may still wait once for SQLite's own sync
        # of a restarted WAL's header.
        p90 = latencies[int(0.9 * (len(latencies) - 1))]
        assert p90 < flush * 2.5, (p90, latencies[-10:])
        assert sum(1 for seconds in latencies if seconds > flush * 3.2) <= 64, latencies[-70:]
        # The frames reached the database file while the process ran (no commit checkpointed:
        # their backstop is ten times further than these writes went).
        assert wait_for(lambda: os.path.getsize(stack.database) > size_before + 960 * 1000, timeout=10)
    finally:
        stack.stop()
