"""Hardening round 3 through nginx (both backends where storage is touched): a replayed or no-op
write is not a write, a failed WAL flush is permanent, `copy` refuses a destination with history
and leaves every source cursor 410, the wait room gives each user a share and leaves connections
for plain requests, `backup` never writes through a symlink, and a shrunk change file never
kills a worker."""
import os
import re
import subprocess
import time
import urllib.parse

import pytest

from stack import BINARY, SECRET, Stack, make_token
from test_crash import flush_delay_library
from test_faults import wait_for
from test_hardening_round2 import drop, fresh_database, run, serving
from test_live_sync import Waiter, create, cursor_now, fill_then_wait_once_more, open_waits, read_all, wait_for_metric


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
        sockets = []
        for name, bearer in users:
            cursor = cursor_now(stack, name, bearer)
            sockets += open_waits(stack, f"/api/{name}/tasks/changes?since={cursor}&wait=30", bearer, 2)
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
