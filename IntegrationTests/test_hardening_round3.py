"""Hardening round 3 through nginx (both backends where storage is touched): a replayed or no-op
write is not a write, sync never shows a change before it is durable, a failed WAL flush is permanent, `copy` refuses a destination with history
and leaves every source cursor 410, the wait room gives each user a share and leaves connections
for plain requests, `backup` never writes through a symlink, and a shrunk change file never
kills a worker."""
import contextlib
import os
import re
import subprocess
import threading
import time
import urllib.parse

import pytest

from stack import BINARY, SECRET, Stack, make_token
from test_crash import flush_delay_library
from test_fastcgi_peers import connect, fastcgi_request, read_records
from test_faults import wait_for
from test_hardening_round2 import drop, fresh_database, run, serving
from test_parked import slow_flush_stack
from test_live_sync import (Waiter, create, cursor_now, get, fill_then_wait_once_more, read_all, wait_for_changes_of,
                            wait_for_metric)


def tasks_path(user):
    return "/api/" + urllib.parse.quote(user, safe="") + "/tasks"


def counter(stack, name):
    """A counter summed over its labels, from /metrics."""
    text = stack.request("GET", "/metrics").body.decode()
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


# Item 9: whether something changed comes from the store, not from the method and the status.

def test_a_replayed_create_or_a_no_op_patch_is_not_counted_and_wakes_no_waiter(stack, user, token):
    body = {"title": "keyed", "priority": "high"}
    first = stack.request("POST", tasks_path(user), token, body, headers={"Idempotency-Key": "replayed-1"})
    assert first.status == 201
    task_id = first.json["id"]
    cursor = cursor_now(stack, user, token)
    writes_before = counter(stack, "todo_writes_committed_total")
    waiter = Waiter(stack, f"{tasks_path(user)}/changes?since={cursor}&wait=3", token)
    waiter.start()
    time.sleep(0.5)
    replay = stack.request("POST", tasks_path(user), token, body, headers={"Idempotency-Key": "replayed-1"})
    assert replay.status == 201 and replay.header("Idempotent-Replayed") == "true"
    no_op = stack.request("PATCH", f"{tasks_path(user)}/{task_id}", token, {"priority": "high"},
                          content_type="application/merge-patch+json")
    assert no_op.status == 200 and no_op.json["priority"] == "high"
    waiter.join(timeout=10)
    status, _, page, seconds = waiter.result
    # Before: woken at once by the replay (an empty page after ~0.5 s) and both counted as writes.
    assert status == 200 and page["tasks"] == [] and seconds >= 2.5, (status, page, seconds)
    assert counter(stack, "todo_writes_committed_total") == writes_before
    changed = stack.request("PATCH", f"{tasks_path(user)}/{task_id}", token, {"priority": "low"},
                            content_type="application/merge-patch+json")
    assert changed.status == 200
    assert wait_for(lambda: counter(stack, "todo_writes_committed_total") == writes_before + 1, timeout=5)


# Item 5: sync pages and long-poll answers never go beyond the last durable change.

class Writer(threading.Thread):
    """A POST create in a thread of its own: `response` once answered."""

    def __init__(self, stack, user, token, title):
        super().__init__(daemon=True)
        self.args = ("POST", tasks_path(user), token, {"title": title})
        self.stack = stack
        self.response = None

    def run(self):
        self.response = self.stack.request(*self.args)


@contextlib.contextmanager
def failing_flush_stack(tmp_path, user):
    """One process whose every flush takes a second; the first flush of the WAL to end after
    `fail_file` appears fails with EIO. Yields (stack, token, fail_file, `user`'s cursor now)."""
    fail_file = str(tmp_path / "fail-next-flush")
    stack, token = slow_flush_stack(tmp_path, 1.0, user, env={"FLUSH_FAIL_FILE": fail_file})
    try:
        yield stack, token, fail_file, cursor_now(stack, user, token)
    finally:
        stack.stop()


@pytest.mark.single_backend
def test_a_sync_page_never_shows_a_create_whose_flush_then_fails(tmp_path):
    user = "sync-not-durable"
    with failing_flush_stack(tmp_path, user) as (stack, token, fail_file, cursor):
        open(fail_file, "w").close()
        writer = Writer(stack, user, token, "its flush fails")
        writer.start()
        time.sleep(0.3)  # committed, its flush under way
        status, _, page, seconds = get(stack, f"{tasks_path(user)}/changes?since={cursor}", token)
        writer.join(timeout=10)
        assert writer.response.status == 503, writer.response.body
        # Before: 200 at once with the task, whose writer was told 503 a second later; after a
        # restart its change number is reused, and a client already past it skips the new change.
        assert status == 503 and page["code"] == "service_unavailable", (status, page, seconds)


@pytest.mark.single_backend
def test_a_long_poll_woken_by_a_durable_change_never_shows_a_later_one_whose_flush_fails(tmp_path):
    user = "wait-not-durable"
    with failing_flush_stack(tmp_path, user) as (stack, token, fail_file, cursor):
        waiter = Waiter(stack, f"{tasks_path(user)}/changes?since={cursor}&wait=20", token)
        waiter.start()
        time.sleep(0.3)
        durable = Writer(stack, user, token, "durable")
        durable.start()  # its flush ends ~1 s from now and wakes the waiter
        time.sleep(0.2)
        doomed = Writer(stack, user, token, "its flush fails")
        doomed.start()  # committed now; its flush runs from ~1 s to ~2 s
        time.sleep(1.2)
        open(fail_file, "w").close()
        for thread in (durable, doomed, waiter):
            thread.join(timeout=10)
        assert durable.response.status == 201 and doomed.response.status == 503
        status, _, page, _ = waiter.result
        # Before: woken by the durable create, it answered 200 with both tasks, the second one
        # a second before its writer was told 503.
        titles = [task["title"] for task in page["tasks"]] if status == 200 else []
        assert "its flush fails" not in titles, (status, page)
        assert status == 503 and page["code"] == "service_unavailable", (status, page)


# Item 6: a failed flush of the WAL is permanent for the process.

@pytest.mark.single_backend
def test_after_a_failed_wal_flush_the_worker_acknowledges_no_write_and_exits(tmp_path):
    fail_file = str(tmp_path / "fail-next-flush")
    env = {"LD_PRELOAD": flush_delay_library(str(tmp_path)), "FLUSH_DELAY_US": "0", "FLUSH_FAIL_FILE": fail_file}
    stack = Stack(processes=1, threads=4, env=env).start()
    user, token = "flush-fails", make_token("flush-fails")
    try:
        for n in range(3):
            assert stack.request("POST", tasks_path(user), token, {"title": f"durable {n}"}).status == 201
        pid = stack.worker_pids[0]
        open(fail_file, "w").close()
        failed = stack.request("POST", tasks_path(user), token, {"title": "its flush fails"})
        assert failed.status == 503 and failed.is_error("service_unavailable"), failed.body
        assert not os.path.exists(fail_file)
        # Before: the next five writes were 201 (their own flushes succeeded) and /health 200.
        later = [stack.request("POST", tasks_path(user), token, {"title": f"after {n}"}) for n in range(5)]
        assert all(response.status in (502, 503) for response in later), [r.status for r in later]
        # The worker stops by itself (a supervisor restarts it; SQLite recovers the WAL then).
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z",
                        timeout=15), "the worker did not exit after a failed flush"
        log = stack.log()
        assert "stopping: flushing" in log and "exiting with status 1" in log, log[-2000:]
        stack.worker_pids = []
        stack.start_workers()
        assert wait_for(lambda: stack.request("GET", "/health").status == 200, timeout=10)
        listed = stack.request("GET", tasks_path(user) + "?limit=100", token)
        titles = {task["title"] for task in listed.json}
        assert {"durable 0", "durable 1", "durable 2"} <= titles
        assert not any(title.startswith("after ") for title in titles), titles
        assert stack.request("POST", tasks_path(user), token, {"title": "after the restart"}).status == 201
    finally:
        stack.stop()


# Item 8: `backup PATH` as `keygen` writes its files.

def backup(stack, destination, *extra):
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": SECRET, "TODO_DATABASE": stack.database}
    return subprocess.run([BINARY, "backup", "--quiet", str(destination), *extra], env=env, capture_output=True,
                          text=True, timeout=120)


def test_backup_never_writes_through_a_symlink_nor_over_a_file_and_makes_it_private(stack, user, token, tmp_path):
    assert stack.request("POST", tasks_path(user), token, {"title": "backed up"}).status == 201
    victim = tmp_path / "victim"
    victim.write_text("not yours\n")
    victim.chmod(0o644)
    through_link = tmp_path / "link-to-victim"
    through_link.symlink_to(victim)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "created-through-the-link")
    for destination in (through_link, dangling):
        refused = backup(stack, destination)
        # Before: the backup was written into the link's target, mode 0644.
        assert refused.returncode == 2 and "already exists" in refused.stderr, (refused.returncode, refused.stderr)
    assert victim.read_text() == "not yours\n" and oct(victim.stat().st_mode & 0o777) == "0o644"
    assert not (tmp_path / "created-through-the-link").exists()
    fresh = tmp_path / "fresh.backup"
    made = backup(stack, fresh)
    assert made.returncode == 0, made.stderr
    assert oct(fresh.stat().st_mode & 0o777) == "0o600" and fresh.stat().st_size > 0
    assert backup(stack, fresh).returncode == 2
    # --force replaces the name (a link too: the link goes, its target stays), still 0600.
    replaced = backup(stack, through_link, "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert not through_link.is_symlink() and oct(through_link.stat().st_mode & 0o777) == "0o600"
    assert victim.read_text() == "not yours\n"
    # Nothing half-made is left beside the destinations.
    assert not [name for name in os.listdir(tmp_path) if ".partial-" in name]


# Items 2 and 7: `copy` and sync history.

def test_after_copy_every_source_cursor_is_410_and_a_destination_with_history_is_refused(tmp_path):
    user = "emptied-before-copy"
    token = make_token(user)
    source, destination = fresh_database(tmp_path, "source"), fresh_database(tmp_path, "copy")
    try:
        with serving(source) as original:
            ids = [original.request("POST", tasks_path(user), token, {"title": f"t{i}"}).json["id"] for i in range(3)]
            for task_id in ids:
                assert original.request("DELETE", f"{tasks_path(user)}/{task_id}", token).status == 204
            old_cursor = cursor_now(original, user, token)
            # Another user's task, so that the copy has something to move.
            assert original.request("POST", tasks_path("keeper"), make_token("keeper"), {"title": "kept"}).status == 201
        copied = run("copy", "--from", source, "--to", destination)
        assert copied.returncode == 0, copied.stderr
        with serving(destination) as stack:
            # Before: 400 at once, then 200 with one task after 7 changes (6 skipped for good).
            expired = stack.request("GET", f"{tasks_path(user)}/changes?since={old_cursor}", token)
            assert expired.status == 410 and expired.is_error("cursor_expired"), (expired.status, expired.body)
            for n in range(7):
                assert stack.request("POST", tasks_path(user), token, {"title": f"on the copy {n}"}).status == 201
            still = stack.request("GET", f"{tasks_path(user)}/changes?since={old_cursor}", token)
            assert still.status == 410, (still.status, still.body)
        # A database with no task but with history: a copy into it is refused before moving
        # anything, naming what it holds (before: every row moved, then a raw duplicate-key
        # error, on each rerun).
        emptied = fresh_database(tmp_path, "emptied")
        try:
            with serving(emptied) as holder:
                made = holder.request("POST", tasks_path(user), token, {"title": "gone"}, headers={"Idempotency-Key": "k1"})
                assert holder.request("DELETE", f"{tasks_path(user)}/{made.json['id']}", token).status == 204
            for _ in range(2):
                refused = run("copy", "--from", source, "--to", emptied)
                assert refused.returncode == 2, (refused.returncode, refused.stderr)
                assert "users with sync history" in refused.stderr and "idempotency keys" in refused.stderr, refused.stderr
                assert "UNIQUE" not in refused.stderr and "duplicate key" not in refused.stderr
        finally:
            drop(emptied)
    finally:
        drop(source)
        drop(destination)


# Item 3: each user has a share of the wait room.

def test_one_user_cannot_fill_the_wait_room_and_others_still_get_in():
    stack = Stack(processes=1, threads=2, env={"TODO_MAX_WAITERS": "50", "TODO_MAX_WAITS_PER_USER": "5"}).start()
    try:
        greedy, greedy_token = "greedy", make_token("greedy")
        # Before: with 55 waits one user held all 50 places and everyone else got 503.
        sockets, _, (status, headers, body, seconds) = fill_then_wait_once_more(stack, greedy, greedy_token, 5)
        assert status == 429 and body["code"] == "too_many_waits" and int(headers["Retry-After"]) >= 1, (status, body)
        assert seconds < 2
        other, other_token = "patient", make_token("patient")
        other_cursor = cursor_now(stack, other, other_token)
        waiter = Waiter(stack, f"/api/{other}/tasks/changes?since={other_cursor}&wait=30", other_token)
        waiter.start()
        wait_for_metric(stack, "todo_sync_waiters", lambda v: v == 6)
        create(stack, other, other_token, "for the patient one")
        waiter.join(timeout=10)
        status, _, page, _ = waiter.result
        assert status == 200 and [t["title"] for t in page["tasks"]] == ["for the patient one"]
        create(stack, greedy, greedy_token, "wakes the five")
        assert all(a.startswith(b"HTTP/1.1 200") for a in read_all(sockets, 10))
    finally:
        stack.stop()


# Item 4: waiting requests never take the connections plain requests need.

def test_waiters_leave_connections_for_plain_requests():
    # 30 connections, 4 threads: the room holds 22 (8 stay free) although --max-waiters says 50.
    stack = Stack(processes=1, threads=4, env={"TODO_MAX_CONNECTIONS": "30", "TODO_MAX_WAITERS": "50"}).start()
    try:
        users = [(f"holder-{n}", make_token(f"holder-{n}")) for n in range(12)]
        sockets = wait_for_changes_of(stack, users, 2, 30)
        wait_for_metric(stack, "todo_sync_waiters", lambda v: v == 22)
        assert "capped: 8 of 30 connections stay" in stack.log()
        # Before: waiters held every connection and this GET waited ~9 s in the listen backlog.
        began = time.monotonic()
        plain = stack.request("GET", tasks_path("plain"), make_token("plain"))
        assert plain.status == 200 and time.monotonic() - began < 1.5
        refused = [a for a in read_all(sockets, 3) if a]
        assert len(refused) == 2 and all(b" 503 " in a.split(b"\r\n", 1)[0] and b"wait_room_full" in a for a in refused)
    finally:
        stack.stop()


# Item 1: a shrunk change file is a log line, never a dead worker.

@pytest.mark.single_backend
def test_a_shrunk_change_file_never_kills_the_worker_and_the_write_is_answered():
    stack = Stack(processes=1, threads=2).start()
    user, token = "shrunk-feed", make_token("shrunk-feed")
    try:
        assert stack.request("POST", tasks_path(user), token, {"title": "before"}).status == 201
        pid = stack.worker_pids[0]
        changes = stack.database + ".changes"
        assert os.path.getsize(changes) > 0
        os.truncate(changes, 0)
        # Before: the flush completed, then publishing touched the mapping past the file's end:
        # SIGBUS, the durable write answered 502 by nginx, the worker gone.
        written = stack.request("POST", tasks_path(user), token, {"title": "after the truncation"})
        assert written.status == 201, (written.status, written.body)
        assert os.path.exists(f"/proc/{pid}")
        assert wait_for(lambda: "change file was shrunk or replaced" in stack.log(), timeout=5), stack.log()[-2000:]
        # Its own waiters still wake on its own writes.
        cursor = cursor_now(stack, user, token)
        waiter = Waiter(stack, f"{tasks_path(user)}/changes?since={cursor}&wait=20", token)
        waiter.start()
        time.sleep(0.5)
        create(stack, user, token, "wakes the waiter")
        waiter.join(timeout=10)
        status, _, page, seconds = waiter.result
        assert status == 200 and [t["title"] for t in page["tasks"]] == ["wakes the waiter"] and seconds < 5
        assert stack.log().count("change file was shrunk or replaced") == 1
    finally:
        stack.stop()


# Item 10: a kept connection is never closed under the request its peer has just sent.

def rapid_fire(stack, user, token, connections, seconds):
    """`connections` clients on the worker's own socket, each sending its next request the moment
    it has read the last one's FCGI_END_REQUEST, as nginx does on a kept connection: lists,
    creates and sync pages (both parked until their flush, which the shim makes 2 ms) and
    health checks. Returns (answers by status, requests that got no end: reset, closed, timed out)."""
    cursor = cursor_now(stack, user, token)
    headers = ((b"HTTP_AUTHORIZATION", f"Bearer {token}".encode()), (b"CONTENT_TYPE", b"application/json"))
    kinds = [("GET", f"{tasks_path(user)}?limit=20", b""), ("POST", tasks_path(user), b'{"title":"rapid"}'),
             ("GET", "/health", b""), ("GET", f"{tasks_path(user)}/changes?since={cursor}&limit=5", b"")]
    statuses, failures, lock = {}, [], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number):
        connection, request_id, sent = connect(stack), 1, number
        while time.monotonic() < deadline:
            method, path, body = kinds[sent % len(kinds)]
            sent += 1
            connection.sendall(fastcgi_request(path, request_id, method=method, body=body, headers=headers))
            records, closed = read_records(connection, until_end_of=request_id, timeout=10)
            if not any(kind == 3 and rid == request_id for kind, rid, _ in records):
                with lock:
                    failures.append((method, path, "closed" if closed else "reset or timed out"))
                connection.close()
                connection = connect(stack)
                continue
            head = next(content for kind, _, content in records if kind == 6)
            status = int(head.split(b" ", 2)[1]) if head.startswith(b"Status: ") else 200
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
            request_id = request_id % 65535 + 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    return statuses, failures


@pytest.mark.single_backend
def test_requests_sent_the_moment_the_last_answer_ends_are_never_reset(tmp_path):
    """Before: a worker handing a kept connection back just as the dispatcher's idle sweep read the
    clock stamped it idle later than the sweep's `now`; the unsigned difference wrapped and the
    sweep closed it under the request nginx had just sent: reset, and a POST answered 502 (5 of
    66,144 once). The sweep's arithmetic is proven by
    `aConnectionHandedBackWhileTheSweepRunsIsNotTakenForLongIdle`; this run holds the whole path."""
    env = {"LD_PRELOAD": flush_delay_library(str(tmp_path)), "FLUSH_DELAY_US": "2000"}
    stack = Stack(processes=1, threads=4, env=env).start()
    user, token = "rapid-fire", make_token("rapid-fire")
    try:
        statuses, failures = rapid_fire(stack, user, token, connections=32, seconds=12)
        answered = sum(statuses.values())
        assert failures == [], failures[:5]
        assert set(statuses) <= {200, 201}, statuses
        # Every kind ran many times, across a dozen idle sweeps (one a second).
        assert answered >= 4000 and statuses.get(201, 0) >= 1000, statuses
    finally:
        stack.stop()
