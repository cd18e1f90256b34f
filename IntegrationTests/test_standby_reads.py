"""Reads from a hot standby that never miss your own writes (docs/SCALING.md, "Reads from a
standby"; #37 item 3). A primary and its streaming standby (scripts/postgres-cluster.sh standby)
that replays every commit 2 s late (recovery_min_apply_delay), two worker processes behind the
product's nginx with TODO_READ_DATABASE = the standby. Every write answers with an
X-Consistency-Token; a read that sends it back sees the write, wherever it is served: 0 misses of
600 create-then-read pairs. Reads of writes the standby has replayed are served by it (counted
on the standby itself), and when the standby dies reads go on, from the primary."""
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from stack import BINARY, REPO, Stack, make_token, psql

pytestmark = pytest.mark.postgres_only

SCRIPT = os.path.join(REPO, "scripts", "postgres-cluster.sh")
APPLY_DELAY = "2s"
PAIRS = 300
QUIET_READS = 2000


def cluster(*arguments):
    done = subprocess.run([SCRIPT, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def todo_uri(admin_uri):
    return re.sub(r"^postgresql://[^@/]*@/[^?]*", "postgresql://todo@/todo", admin_uri)


def standby_reads(stack):
    """The workers' todo_standby_reads_total, by outcome (after every process published its counts:
    each does about twice a second)."""
    time.sleep(1.2)
    text = stack.request("GET", "/metrics").body.decode()
    return {outcome: float(value) for outcome, value in re.findall(r'^todo_standby_reads_total\{outcome="(\w+)"\} (\S+)$', text, re.M)}


def transactions_on(admin_uri):
    """Transactions committed in the database `todo` of the server `admin_uri`, as it counts them."""
    return int(psql("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = 'todo'",
                    uri=admin_uri).splitlines()[-1])


@pytest.fixture(scope="module")
def servers():
    """A primary with the database `todo` and a standby replaying 2 s late; their admin URIs."""
    directory = tempfile.mkdtemp(prefix="todo-fcgi-standby-")
    os.chmod(directory, 0o755)  # the servers run as postgres when this runs as root
    primary_dir, standby_dir = os.path.join(directory, "primary"), os.path.join(directory, "standby")
    try:
        primary = cluster("start", primary_dir)
        psql("CREATE DATABASE todo OWNER todo", uri=primary)
        standby = cluster("standby", standby_dir, primary_dir, APPLY_DELAY)
        yield primary, standby, standby_dir
    finally:
        cluster("stop", standby_dir)
        cluster("stop", primary_dir)


@pytest.fixture(scope="module")
def stack(servers):
    primary, standby, _ = servers
    stack = Stack(processes=2, threads=4, database=todo_uri(primary), env={"TODO_READ_DATABASE": todo_uri(standby)}).start()
    # The standby has the schema once it replayed the migration.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "tasks" not in psql("SELECT string_agg(tablename, ',') FROM pg_tables", uri=todo_uri(standby)):
        time.sleep(0.2)
    yield stack
    stack.stop()


def test_reads_that_send_the_token_back_never_miss_the_write(stack):
    user = "ryw"
    token = make_token(user, lifetime=3600)
    misses, answers = [], 0
    for number in range(PAIRS):
        title = f"ryw-{number:04d}"
        created = stack.request("POST", f"/api/{user}/tasks", token, {"title": title})
        assert created.status == 201, created.body
        consistency = created.header("X-Consistency-Token")
        assert consistency and consistency.startswith("ct1.")
        headers = {"X-Consistency-Token": consistency}
        listed = stack.request("GET", f"/api/{user}/tasks?q={title}", token, headers=headers)
        one = stack.request("GET", f"/api/{user}/tasks/{created.json['id']}", token, headers=headers)
        answers += 2
        if listed.status != 200 or [task["title"] for task in listed.json] != [title]:
            misses.append(("list", title, listed.status))
        if one.status != 200 or one.json["title"] != title:
            misses.append(("one", title, one.status))
    counts = standby_reads(stack)
    print(f"\nread-your-writes: {len(misses)} misses of {answers} reads; standby reads {counts}")
    assert misses == []
    # The standby replays 2 s late: right after each write, the primary served the read.
    assert counts.get("behind", 0) >= 0.9 * answers


def test_a_sync_page_after_a_write_holds_it_and_cursors_never_go_back(stack):
    user = "ryw-sync"
    token = make_token(user, lifetime=3600)
    cursor, seen = None, set()
    for number in range(40):
        created = stack.request("POST", f"/api/{user}/tasks", token, {"title": f"sync {number}"})
        query = f"?since={urllib.parse.quote(cursor)}" if cursor else ""
        page = stack.request("GET", f"/api/{user}/tasks/changes{query}", token,
                             headers={"X-Consistency-Token": created.header("X-Consistency-Token")})
        assert page.status == 200, page.body
        ids = [task["id"] for task in page.json["tasks"]]
        assert created.json["id"] in ids
        assert not seen.intersection(ids), "a page repeated changes the reader had: its cursor went back"
        seen.update(ids)
        cursor = page.json["cursor"]


def test_reads_of_replayed_writes_are_served_by_the_standby(stack, servers):
    _, standby, _ = servers
    user = "quiet-reader"
    token = make_token(user, lifetime=3600)
    ids, consistency = [], None
    for number in range(20):
        created = stack.request("POST", f"/api/{user}/tasks", token, {"title": f"quiet {number}"})
        ids.append(created.json["id"])
        consistency = created.header("X-Consistency-Token")
    time.sleep(3)  # longer than the standby's apply delay: no recent writes
    before, on_standby_before = standby_reads(stack), transactions_on(standby)
    statuses = []

    def read(part):
        for number in range(part, QUIET_READS, 4):
            path = f"/api/{user}/tasks?limit=5" if number % 2 else f"/api/{user}/tasks/{ids[number % len(ids)]}"
            statuses.append(stack.request("GET", path, token, headers={"X-Consistency-Token": consistency}).status)

    threads = [threading.Thread(target=read, args=(part,)) for part in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    after = standby_reads(stack)
    served = after.get("served", 0) - before.get("served", 0)
    # The standby's own count of transactions in the database (its statistics reach the view
    # within about a second of a backend's last transaction).
    deadline, on_standby = time.monotonic() + 15, 0
    while time.monotonic() < deadline:
        on_standby = transactions_on(standby) - on_standby_before
        if on_standby >= 0.9 * QUIET_READS:
            break
        time.sleep(0.5)
    print(f"\nquiet reads: {served:.0f} of {QUIET_READS} served by the standby (its own count: {on_standby} transactions); "
          f"behind {after.get('behind', 0) - before.get('behind', 0):.0f}, "
          f"unavailable {after.get('unavailable', 0) - before.get('unavailable', 0):.0f}")
    assert statuses == [200] * QUIET_READS
    assert served >= 0.9 * QUIET_READS
    assert on_standby >= 0.9 * QUIET_READS


def test_check_reports_the_read_database(stack):
    done = subprocess.run([BINARY, "check"], env=stack.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"read database ok: \S+, a hot standby, last replayed commit \d+ ms old",
                     done.stdout + done.stderr), done.stdout + done.stderr


def test_reads_go_on_when_the_standby_dies(stack, servers):
    _, _, standby_dir = servers
    user = "standby-lost"
    token = make_token(user, lifetime=3600)
    created = stack.request("POST", f"/api/{user}/tasks", token, {"title": "still readable"})
    consistency = created.header("X-Consistency-Token")
    time.sleep(2.5)
    cluster("crash", standby_dir)  # immediate shutdown: every connection to it cut
    before = standby_reads(stack)
    statuses = []
    for _ in range(200):
        one = stack.request("GET", f"/api/{user}/tasks/{created.json['id']}", token, headers={"X-Consistency-Token": consistency})
        statuses.append((one.status, one.json.get("title") if one.status == 200 else one.body))
    after = standby_reads(stack)
    assert statuses == [(200, "still readable")] * 200
    assert after.get("unavailable", 0) > before.get("unavailable", 0)
