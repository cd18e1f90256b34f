"""PostgreSQL failovers as an operator has them (docs/SCALING.md, "Failover"): a pg_auto_failover
formation (scripts/pg-auto-failover.sh: a monitor, a primary and its synchronous standby), two
worker processes behind the product's nginx with the formation's multi-host URI
(target_session_attrs=read-write), 16 writers creating tasks with idempotency keys (retrying the
same key until acknowledged). First a planned switchover, with 4 readers too: every answer 2xx.
Then every process of the primary's node killed: no acknowledged create is lost, each key made
exactly one task, no answer but 2xx and 503 (with Retry-After), writes are back within 30 s, a
live-sync waiter is woken by a change made after the failover, the workers count the failover,
and the old primary rejoining changes nothing for clients."""
import os
import re
import subprocess
import tempfile
import threading
import time

import pytest

from stack import REPO, Stack, make_token, psql_binary
from test_live_sync import Waiter, create, cursor_now

pytestmark = pytest.mark.postgres_only

SCRIPT = os.path.join(REPO, "scripts", "pg-auto-failover.sh")
WRITERS = 16
KILL_AFTER = 4.0          # seconds of writes before the primary's node is killed
AFTER_RECOVERY = 3.0      # seconds of writes once they are back
OUTAGE_BOUND = 30.0


def formation(command, directory, *extra):
    done = subprocess.run([SCRIPT, command, directory, *extra], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def as_postgres(port, sql):
    return subprocess.run([psql_binary(), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "todo", "-qAtX",
                           "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, check=True, timeout=30).stdout.strip()


class Writer(threading.Thread):
    """Creates tasks titled with their idempotency key, retrying each key until it is acknowledged."""

    def __init__(self, stack, index, stop):
        super().__init__(daemon=True)
        self.stack, self.user, self.stop = stack, f"failover-{index}", stop
        self.token = make_token(self.user, lifetime=3600)
        self.acknowledged = {}   # key -> (task id, when acknowledged)
        self.statuses = []       # (status, has Retry-After, when)

    def run(self):
        number = 0
        while not self.stop.is_set():
            number += 1
            key = f"{self.user}-{number}"
            while True:
                try:
                    response = self.stack.request("POST", f"/api/{self.user}/tasks", self.token, {"title": key},
                                                  headers={"Idempotency-Key": key})
                except OSError:
                    self.statuses.append((0, False, time.monotonic()))
                    time.sleep(0.1)
                    continue
                now = time.monotonic()
                self.statuses.append((response.status, response.header("Retry-After") is not None, now))
                if response.status in (200, 201):
                    self.acknowledged[key] = (response.json["id"], now)
                    break
                time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster():
    """The formation's directory and the workers' URI; stopped after the module."""
    directory = tempfile.mkdtemp(prefix="todo-fcgi-failover-")
    try:
        uri = formation("start", directory)
        yield directory, uri
    finally:
        formation("stop", directory)


class Reader(threading.Thread):
    """GETs a user's list until stopped; every status, and the longest request."""

    def __init__(self, stack, index, stop):
        super().__init__(daemon=True)
        self.stack, self.user, self.stop = stack, f"reader-{index}", stop
        self.token = make_token(self.user, lifetime=3600)
        self.statuses = []
        self.longest = 0.0

    def run(self):
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                status = self.stack.request("GET", f"/api/{self.user}/tasks?limit=10", self.token).status
            except OSError:
                status = 0
            self.longest = max(self.longest, time.monotonic() - began)
            self.statuses.append(status)


def test_a_planned_switchover_costs_clients_nothing(cluster):
    """pg_autoctl perform switchover under 16 writers and 4 readers: requests that find no
    server taking writes wait for the new primary, holding no thread (--database-wait), and are
    carried out then: every answer is 2xx, nothing is lost, no key makes two tasks."""
    directory, uri = cluster
    stack = Stack(processes=2, threads=8, database=uri, env={"TODO_DATABASE": uri}).start()
    stop = threading.Event()
    writers = [Writer(stack, index, stop) for index in range(WRITERS)]
    readers = [Reader(stack, index, stop) for index in range(4)]
    try:
        for thread in writers + readers:
            thread.start()
        time.sleep(3)
        before = int(formation("primary", directory))
        formation("switchover", directory)
        time.sleep(3)
        stop.set()
        for thread in writers + readers:
            thread.join(60)
        assert int(formation("primary", directory)) != before
        statuses = [status for writer in writers for status, _, _ in writer.statuses]
        statuses += [status for reader in readers for status in reader.statuses]
        failed = [status for status in statuses if not 200 <= status < 300]
        acknowledged = {key: task for writer in writers for key, (task, _) in writer.acknowledged.items()}
        rows = as_postgres(int(formation("primary", directory)), "SELECT title, count(*) FROM tasks GROUP BY title")
        stored = dict(line.split("|") for line in rows.splitlines())
        longest = max(reader.longest for reader in readers)
        print(f"\nswitchover: {len(statuses)} requests, {len(failed)} not 2xx, {len(acknowledged)} creates acknowledged, "
              f"longest read {longest:.2f} s")
        if failed:  # what the workers met, once each
            print("\n".join(sorted({line.split("] ", 1)[-1][:200] for line in stack.log().splitlines()
                                     if "error" in line and "next attempt" not in line})))
        assert failed == [], f"{len(failed)} of {len(statuses)} answers not 2xx: {sorted(set(failed))}"
        assert [key for key in acknowledged if key not in stored] == []
        assert [title for title, count in stored.items() if count != "1"] == []
    finally:
        stop.set()
        stack.stop()


def test_a_primary_killed_under_writes_loses_nothing_and_writes_come_back(cluster):
    directory, uri = cluster
    stack = Stack(processes=2, threads=8, database=uri, env={"TODO_DATABASE": uri}).start()
    stop = threading.Event()
    writers = [Writer(stack, index, stop) for index in range(WRITERS)]
    try:
        for writer in writers:
            writer.start()
        time.sleep(KILL_AFTER)
        killed_at = time.monotonic()
        old_primary = int(formation("kill-primary", directory))
        # Writes are back once every writer has had an acknowledgement made after the kill.
        deadline = killed_at + OUTAGE_BOUND + 10
        while time.monotonic() < deadline and not all(
                any(when > killed_at + 0.5 for _, when in writer.acknowledged.values()) for writer in writers):
            time.sleep(0.2)
        back_at = min((when for writer in writers for _, when in writer.acknowledged.values() if when > killed_at + 0.5),
                      default=float("inf"))
        time.sleep(AFTER_RECOVERY)
        stop.set()
        for writer in writers:
            writer.join(60)
        assert not any(writer.is_alive() for writer in writers), "a writer is still retrying"
        outage = back_at - killed_at
        assert outage <= OUTAGE_BOUND, f"writes came back {outage:.1f} s after the kill"

        statuses = [status for writer in writers for status in writer.statuses]
        acknowledged = {key: task for writer in writers for key, (task, _) in writer.acknowledged.items()}
        others = [s for s, _, _ in statuses if s not in (200, 201, 503)]
        assert others == [], f"answers other than 2xx and 503: {sorted(set(others))}"
        assert all(retry_after for s, retry_after, _ in statuses if s == 503), "a 503 without Retry-After"

        new_primary = int(formation("primary", directory))
        assert new_primary != old_primary
        # Every acknowledged create is there, and every key made exactly one task.
        rows = as_postgres(new_primary, "SELECT title, count(*), min(id) FROM tasks GROUP BY title")
        stored = {title: (int(count), int(first)) for title, count, first in (line.split("|") for line in rows.splitlines())}
        lost = [key for key in acknowledged if key not in stored]
        assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged creates lost"
        assert [key for key, (count, _) in stored.items() if count != 1] == []
        assert all(stored[key][1] == task for key, task in acknowledged.items()), "a replay named another task"

        # A waiter is woken by a change made after the failover (the listener followed).
        user, token = "failover-waiter", make_token("failover-waiter")
        cursor = cursor_now(stack, user, token)
        waiter = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token)
        waiter.start()
        time.sleep(0.5)
        task = create(stack, user, token, "after the failover")
        written_at = time.monotonic()
        waiter.join(10)
        assert waiter.result is not None and waiter.result[0] == 200
        assert [t["id"] for t in waiter.result[2]["tasks"]] == [task["id"]]
        assert waiter.answered_at - written_at < 1.0

        # The workers say what happened.
        metrics = stack.request("GET", "/metrics").body.decode()
        assert float(re.search(r"^todo_database_failovers_total (\S+)$", metrics, re.M).group(1)) >= 1

        # The old primary rejoins as a standby: clients notice nothing.
        formation("rejoin", directory)
        reader = make_token("failover-0", lifetime=3600)
        for number in range(20):
            assert stack.request("POST", "/api/failover-0/tasks", reader, {"title": f"after rejoin {number}"}).status == 201
            assert stack.request("GET", "/api/failover-0/tasks?limit=5", reader).status == 200
        print(f"\nfailover: {len(acknowledged)} acknowledged, {len(lost)} lost, "
              f"{sum(1 for s, _, _ in statuses if s == 503)} x 503, writes back {outage:.1f} s after the kill")
    finally:
        stop.set()
        stack.stop()
