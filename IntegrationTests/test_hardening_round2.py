"""Hardening round 2, through nginx on whichever backend this pass runs: paged sync that reaches
its end after `copy` and after tombstones are purged, cursors no one but the server can make,
text with U+0000 refused on every backend (never stored shortened), and Idempotency-Keys that
expire at their documented lifetime."""
import base64
import contextlib
import hashlib
import os
import sqlite3
import subprocess
import urllib.parse

import pytest

from stack import BINARY, POSTGRES_ADMIN, SECRET, Stack, create_postgres_database, drop_postgres_database, make_token, psql

DAY_MS = 86_400_000


def path(user):
    return "/api/" + urllib.parse.quote(user, safe="") + "/tasks"


def as_admin(stack_or_database, sql):
    """Runs `sql` on the stack's database behind the service's back: sqlite3 on the file, or psql
    as the server's superuser (row-level security does not bind it)."""
    database = getattr(stack_or_database, "database", stack_or_database)
    if database.startswith("postgresql://"):
        return psql(sql, uri=database, user="postgres")
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(sql).fetchall()
    return "\n".join("|".join(str(value) for value in row) for row in rows)


def run(*arguments):
    return subprocess.run([BINARY, *arguments], env=dict(os.environ, BETTER_AUTH_SECRET=SECRET),
                          capture_output=True, text=True, timeout=120)


def sync_to_the_end(stack, user, limit):
    """Pages through a first sync the way a client does; returns the ids seen and the statuses."""
    token = make_token(user)
    seen, statuses, cursor = [], [], None
    for _ in range(200):
        target = path(user) + f"/changes?limit={limit}" + (f"&since={cursor}" if cursor else "")
        response = stack.request("GET", target, token)
        statuses.append(response.status)
        if response.status != 200:
            return seen, statuses
        page = response.json
        seen += [task["id"] for task in page["tasks"]]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    # The last cursor keeps working.
    statuses.append(stack.request("GET", path(user) + f"/changes?since={cursor}", token).status)
    return seen, statuses


def fresh_database(tmp_path, name):
    return create_postgres_database() if POSTGRES_ADMIN else str(tmp_path / f"{name}.db")


@contextlib.contextmanager
def serving(database):
    """A one-process stack over `database` for the `with` block; stopped after it."""
    stack = Stack(processes=1, threads=2, database=database, env={"TODO_DATABASE": database}).start()
    try:
        yield stack
    finally:
        stack.stop()


def drop(database):
    if database.startswith("postgresql://"):
        drop_postgres_database(database)


# --- 1. a first sync pages to its end ----------------------------------------------------------

def test_a_paged_first_sync_after_copy_reaches_its_end(tmp_path):
    """Before: page 2 after `copy` was 410 (the copy's purge mark is its time in ms, the pages'
    cursors the old change numbers), and a client starting over looped for ever."""
    user = "sync-after-copy"
    source, destination = fresh_database(tmp_path, "source"), fresh_database(tmp_path, "copy")
    try:
        with serving(source) as original:
            ids = [original.request("POST", path(user), make_token(user), {"title": f"t{i}"}).json["id"] for i in range(23)]
            assert original.request("DELETE", path(user) + f"/{ids.pop(4)}", make_token(user)).status == 204
        copied = run("copy", "--from", source, "--to", destination)
        assert copied.returncode == 0, copied.stderr
        with serving(destination) as stack:
            seen, statuses = sync_to_the_end(stack, user, limit=5)
            assert set(statuses) == {200} and sorted(seen) == ids
    finally:
        drop(source)
        drop(destination)


def test_a_paged_first_sync_past_purged_tombstones_reaches_its_end(stack):
    """Before: with tombstones older than 30 days purged while older live tasks remained, the
    second page of a first sync was 410."""
    user = "sync-after-purge"
    token = make_token(user)
    ids = [stack.request("POST", path(user), token, {"title": f"t{i}"}).json["id"] for i in range(12)]
    doomed = ids.pop()
    assert stack.request("DELETE", path(user) + f"/{doomed}", token).status == 204
    # The tombstone is made 31 days old; the next deletion purges it.
    owner = user.replace("'", "''")
    as_admin(stack, f"UPDATE task_tombstones SET deleted_at = deleted_at - {31 * DAY_MS} WHERE user_id = '{owner}'")
    late = stack.request("POST", path(user), token, {"title": "late"}).json["id"]
    assert stack.request("DELETE", path(user) + f"/{late}", token).status == 204
    assert int(as_admin(stack, f"SELECT purged_through FROM task_sync WHERE user_id = '{owner}'")) > 0
    seen, statuses = sync_to_the_end(stack, user, limit=4)
    assert set(statuses) == {200} and seen == ids


def expired_cursor(stack, user):
    """A cursor of `user` from before a deletion that is then made 31 days old and purged (by
    the next deletion): one the service must refuse as expired."""
    token = make_token(user)
    first = stack.request("POST", path(user), token, {"title": "a"}).json["id"]
    old = stack.request("GET", path(user) + "/changes", token).json["cursor"]
    assert stack.request("DELETE", path(user) + f"/{first}", token).status == 204
    as_admin(stack, f"UPDATE task_tombstones SET deleted_at = deleted_at - {31 * DAY_MS} WHERE user_id = '{user}'")
    second = stack.request("POST", path(user), token, {"title": "b"}).json["id"]
    assert stack.request("DELETE", path(user) + f"/{second}", token).status == 204
    return old


def test_a_cursor_older_than_a_purged_deletion_is_still_410(stack):
    user = "sync-expired"
    old = expired_cursor(stack, user)
    assert stack.request("GET", path(user) + f"/changes?since={old}", make_token(user)).is_error("cursor_expired")


# --- 5. cursors only the server can make -------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_forged_cursor_is_400(stack):
    """Before: the check was an unkeyed SHA-256 anyone could compute, so this cursor was taken."""
    user = "sync-forger"
    token = make_token(user)
    for _ in range(3):
        assert stack.request("POST", path(user), token, {"title": "x"}).status == 201
    change = 1
    digest = hashlib.sha256(f"todo-fcgi sync cursor\0{user}\0{change}".encode()).hexdigest()[:16]
    forged = b64url(f"{change}.{digest}".encode())
    response = stack.request("GET", path(user) + f"/changes?since={forged}", token)
    assert response.status == 400 and response.is_error("invalid_cursor")
    # A real cursor with any byte changed is refused too; the real one is served.
    real = stack.request("GET", path(user) + "/changes?limit=1", token).json["cursor"]
    raw = bytearray(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    for index in (1, 8, 9, 16, len(raw) - 1):
        edited = bytearray(raw)
        edited[index] ^= 0x01
        assert stack.request("GET", path(user) + f"/changes?since={b64url(bytes(edited))}", token).is_error("invalid_cursor")
    assert stack.request("GET", path(user) + f"/changes?since={real}", token).status == 200
    # Another user's cursor is not this user's.
    assert stack.request("GET", path("sync-other") + f"/changes?since={real}", make_token("sync-other")).is_error("invalid_cursor")


# --- 2. text every backend can hold ------------------------------------------------------------

def test_nul_in_any_text_field_is_400_and_nothing_is_stored(stack):
    """Before, on PostgreSQL: "\\u0000leading" was stored as "" (the title rule bypassed)."""
    user = "nul-writer"
    token = make_token(user)
    for body in ({"title": "\u0000leading"}, {"title": "nul\u0000tail"}, {"title": "x", "description": "a\u0000"},
                 {"title": "x", "tags": ["t\u0000"]}):
        response = stack.request("POST", path(user), token, body)
        assert response.status == 400 and response.is_error("validation_error"), body
    kept = stack.request("POST", path(user), token, {"title": "kept", "description": "d"}).json
    for method, body in (("PUT", {"title": "\u0000"}), ("PATCH", {"description": "x\u0000y"})):
        assert stack.request(method, path(user) + f"/{kept['id']}", token, body).is_error("validation_error")
    assert stack.request("GET", path(user) + f"/{kept['id']}", token).json == kept
    assert stack.request("GET", path(user), token).json == [kept]


def test_nul_in_a_query_is_400(stack):
    """Before, on PostgreSQL: `?q=%00` matched every task."""
    user = "nul-searcher"
    token = make_token(user)
    assert stack.request("POST", path(user), token, {"title": "anything"}).status == 201
    for query in ("q=%00", "q=any%00thing", "tag=%00", "due_after=2026-01-01T00:00:00Z%00"):
        response = stack.request("GET", path(user) + "?" + query, token)
        assert response.status == 400 and response.is_error("invalid_query"), query


def test_an_idempotent_replay_is_the_original_201_byte_for_byte(stack):
    """Before, on PostgreSQL, the stored body could differ from the 201 sent (text cut at U+0000)."""
    user = "replay-bytes"
    token = make_token(user)
    body = {"title": "\u00e9 \u2603 \U0001F600 \u0001 'quoted' \"x\"", "description": "\u200b" * 300,
            "tags": ["\u00dcn\u00efcode", "b"], "priority": "high", "due_date": "2026-12-24T18:00:00.5+05:45",
            "recurrence": {"frequency": "monthly", "interval": 2}}
    headers = {"Idempotency-Key": "replay-1"}
    first = stack.request("POST", path(user), token, body, headers=headers)
    assert first.status == 201
    again = stack.request("POST", path(user), token, body, headers=headers)
    assert (again.status, again.body, again.header("ETag"), again.header("Location")) \
        == (first.status, first.body, first.header("ETag"), first.header("Location"))


# --- 6. Idempotency-Keys expire ----------------------------------------------------------------

def test_an_idempotency_key_older_than_48_hours_no_longer_replays(stack):
    """Before: an expired key replayed until the same user's next keyed create purged it."""
    user = "replay-expired"
    token = make_token(user)
    headers = {"Idempotency-Key": "old-key"}
    first = stack.request("POST", path(user), token, {"title": "a"}, headers=headers).json
    as_admin(stack, f"UPDATE idempotency_keys SET created_at = created_at - {49 * 3_600_000} WHERE user_id = '{user}'")
    fresh = stack.request("POST", path(user), token, {"title": "a"}, headers=headers)
    assert fresh.status == 201 and fresh.json["id"] != first["id"]
    # The key now names the new task; another body under it is refused again.
    assert stack.request("POST", path(user), token, {"title": "a"}, headers=headers).json["id"] == fresh.json["id"]
    assert stack.request("POST", path(user), token, {"title": "b"}, headers=headers).status == 422


# --- SQLite rows with U+0000, and copying them ---------------------------------------------------

@pytest.mark.single_backend
def test_rows_sqlite_already_holds_with_nul_stay_readable_byte_for_byte(stack):
    user = "nul-legacy"
    token = make_token(user)
    task = stack.request("POST", path(user), token, {"title": "placeholder"}).json
    as_admin(stack, f"UPDATE tasks SET title = 'nul' || char(0) || 'tail', description = char(0) WHERE id = {task['id']}")
    read = stack.request("GET", path(user) + f"/{task['id']}", token)
    assert read.status == 200 and b'"title":"nul\\u0000tail"' in read.body and b'"description":"\\u0000"' in read.body
    assert read.json["title"] == "nul\u0000tail"


@pytest.mark.postgres_only
def test_copy_into_postgresql_refuses_a_source_with_nul_and_writes_nothing(tmp_path):
    """Before: `copy` reported success and stored "nul" for "nul\\u0000tail"."""
    source = str(tmp_path / "legacy.db")
    user = "nul-copy"
    legacy = Stack(processes=1, threads=2, database=source, env={"TODO_DATABASE": source}).start()
    try:
        ids = [legacy.request("POST", path(user), make_token(user), {"title": f"t{i}"}).json["id"] for i in range(4)]
    finally:
        legacy.stop()
    as_admin(source, f"UPDATE tasks SET title = 'nul' || char(0) || 'tail' WHERE id = {ids[1]}")
    as_admin(source, f"UPDATE tasks SET description = char(0) WHERE id = {ids[3]}")
    destination = create_postgres_database()
    try:
        refused = run("copy", "--from", source, "--to", destination)
        assert refused.returncode != 0
        assert f"ids {ids[1]}, {ids[3]}" in refused.stderr and "U+0000" in refused.stderr
        # Nothing was written: not even the schema.
        assert psql("SELECT to_regclass('tasks') IS NULL", uri=destination, user="postgres") == "t"
    finally:
        drop_postgres_database(destination)


# --- 7. one route table: nginx's 405 and the metrics labels --------------------------------------

@pytest.mark.single_backend
def test_nginxs_own_405_lists_the_route_tables_methods(stack):
    """Before: TRACE on a task said `GET, HEAD, PUT, DELETE` (no PATCH), and the same on the sync
    route, whose methods are `GET, HEAD`."""
    expected = {"/api/u/tasks": "GET, HEAD, POST", "/api/u/tasks/1": "GET, HEAD, PUT, PATCH, DELETE",
                "/api/u/tasks/changes": "GET, HEAD", "/api/u/tasks/changes?since=x": "GET, HEAD",
                "/api/u/tasks/1/complete": "PATCH", "/health": "GET, HEAD"}
    for target, allow in expected.items():
        response = stack.request("TRACE", target)
        assert (response.status, response.header("Allow")) == (405, allow), target
        assert response.is_error("method_not_allowed")
        # The worker's own 405 for another method says the same.
        worker = stack.request("PROPFIND", target, make_token("u"))
        assert (worker.status, worker.header("Allow")) == (405, allow), target
    # A path of no route is 404, from nginx as from the worker.
    for target in ("/api", "/api/u/tasks/1/complete/x", "/nowhere"):
        response = stack.request("TRACE", target)
        assert response.status == 404 and response.is_error("route_not_found") and response.header("Allow") is None, target
        assert stack.request("GET", target, make_token("u")).is_error("route_not_found")


@pytest.mark.single_backend
def test_metrics_label_the_sync_route_and_410(tmp_path):
    """Before: /metrics counted `/tasks/changes` as route `(none)` and 410 as status `other`."""
    from prometheus_client.parser import text_string_to_metric_families
    stack = Stack(processes=1, threads=2).start()
    try:
        user = "metrics-sync"
        token = make_token(user)
        old = expired_cursor(stack, user)
        assert stack.request("GET", path(user) + f"/changes?since={old}", token).status == 410
        samples = {}
        for family in text_string_to_metric_families(stack.request("GET", "/metrics").body.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        route = "/api/{user_id}/tasks/changes"
        assert samples[("todo_requests_total", (("method", "GET"), ("route", route), ("status", "200")))] == 1
        assert samples[("todo_requests_total", (("method", "GET"), ("route", route), ("status", "410")))] == 1
        assert samples.get(("todo_requests_total", (("method", "GET"), ("route", "(none)"), ("status", "other"))), 0) == 0
    finally:
        stack.stop()


# --- 3. statements cached per list shape, bounded ------------------------------------------------

def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def list_shapes(count):
    """`count` distinct list-query shapes (status, sort, order, priorities, tags, terms, due filters)."""
    shapes = []
    priorities = ["", "low", "medium", "high", "low,medium", "low,high", "medium,high", "low,medium,high"]
    for terms in range(11):
        for tags in range(11):
            for priority in priorities:
                for status in ("all", "pending", "completed"):
                    for sort in ("created", "updated", "title", "due_date", "priority"):
                        for order in ("asc", "desc"):
                            query = f"status={status}&sort={sort}&order={order}"
                            query += f"&priority={priority}" if priority else ""
                            query += "".join(f"&tag=t{index}" for index in range(tags))
                            query += ("&q=" + "+".join(f"w{index}" for index in range(terms))) if terms else ""
                            shapes.append(query)
                            if len(shapes) == count:
                                return shapes
    return shapes


def test_memory_stays_bounded_after_6000_list_shapes():
    """Before: each shape stayed prepared per thread connection for ever (12,000 shapes took one
    worker from 27 to 263 MiB; 3,000 grew PostgreSQL's backends by 345 MiB)."""
    stack = Stack(processes=1, threads=8, env={"TODO_STATEMENT_CACHE": os.environ.get("SHAPES_TEST_CACHE", "64")}).start()
    try:
        user = "shape-storm"
        token = make_token(user)
        for index in range(20):
            assert stack.request("POST", path(user), token, {"title": f"t{index}", "tags": ["t1"]}).status == 201
        common = [path(user), path(user) + "?status=pending", path(user) + "?sort=title"]
        for _ in range(40):
            for target in common:
                assert stack.request("GET", target, token).status == 200
        worker = stack.worker_pids[0]
        before = resident_kib(worker)
        backends = []
        if stack.database.startswith("postgresql://"):
            name = stack.database.split("/")[3].split("?")[0]
            backends = [int(pid) for pid in psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}' "
                                                 "AND application_name = 'todo-fcgi'").split()]
        backends_before = sum(resident_kib(pid) for pid in backends)
        shapes = list_shapes(6000)
        assert len(set(shapes)) == 6000
        from stack import run_in_threads
        failures = []

        def storm(batch):
            def client(index):
                for query in batch[index::8]:
                    status = stack.request("GET", path(user) + "?" + query, token).status
                    if status != 200:
                        failures.append((query, status))
            run_in_threads(client, 8)

        storm(shapes[:3000])
        backends_middle = sum(resident_kib(pid) for pid in backends)
        storm(shapes[3000:])
        assert failures == []
        growth_mib = (resident_kib(worker) - before) / 1024
        backends_end = sum(resident_kib(pid) for pid in backends)
        print(f"RSS growth after 6,000 shapes: worker {growth_mib:.1f} MiB"
              + (f"; {len(backends)} PostgreSQL backends {(backends_end - backends_before) / 1024:.1f} MiB, "
                 f"{(backends_end - backends_middle) / 1024:.1f} MiB of it in the second 3,000" if backends else ""))
        assert growth_mib <= 48, f"the worker grew by {growth_mib:.1f} MiB"
        # PostgreSQL keeps at most the cache's statements per connection: its backends' memory
        # levels off (it grew as much in the second 3,000 shapes as in the first before).
        assert (backends_end - backends_middle) / 1024 <= 24
        # The common shapes still answer.
        for target in common:
            assert stack.request("GET", target, token).status == 200
    finally:
        stack.stop()
