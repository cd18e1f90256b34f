"""Task model v2 upgrades a version-1 database in place: files made by the version-1 binary
(fixtures/v1-sqlite.db, and fixtures/v1-postgresql.sql dumped from a version-1 PostgreSQL
database) are served by this build, and every old task comes back as it was, with the v2
defaults; the answers v1 gave for them are in fixtures/v1-*.json."""
import json
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from stack import BINARY, SECRET, Stack, create_postgres_database, drop_postgres_database, make_token, psql, psql_binary

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
V2_DEFAULTS = {"priority": "medium", "tags": [], "due_date": None, "recurrence": None, "next_task_id": None, "version": 1}


def check_every_old_task(stack, expected):
    """Every task the v1 build listed is there, unchanged, with the v2 fields at their defaults."""
    highest = 0
    for user, v1_tasks in expected.items():
        token = make_token(user)
        path = "/api/" + urllib.parse.quote(user, safe="") + "/tasks"
        listed = stack.request("GET", path, token)
        assert listed.status == 200 and listed.header("X-Total-Count") == str(len(v1_tasks))
        for old, new in zip(v1_tasks, listed.json):
            assert {key: new[key] for key in old} == old, (old, new)
            assert {key: new[key] for key in V2_DEFAULTS} == V2_DEFAULTS
            assert new["completed_at"] == (old["updated_at"] if old["completed"] else None)
            got = stack.request("GET", f"{path}/{old['id']}", token)
            assert got.status == 200 and got.json == new and got.header("ETag") == '"1"'
            highest = max(highest, old["id"])
        # The new structures work on migrated rows: search, title sort, sync, a write.
        first = v1_tasks[0]
        term = urllib.parse.quote(first["title"].split()[0].lower())
        assert first["id"] in [t["id"] for t in stack.request("GET", f"{path}?q={term}", token).json]
        by_title = stack.request("GET", f"{path}?sort=title", token).json
        assert [t["title"].lower() for t in by_title] == sorted((t["title"].lower() for t in v1_tasks), key=lambda s: s.encode())
        changes = stack.request("GET", f"{path}/changes", token).json
        assert sorted(t["id"] for t in changes["tasks"]) == sorted(t["id"] for t in v1_tasks)
        patched = stack.request("PATCH", f"{path}/{first['id']}", token, {"priority": "high"})
        assert patched.status == 200 and patched.json["version"] == 2
        assert stack.request("GET", f"{path}/changes?since={changes['cursor']}", token).json["tasks"][0]["id"] == first["id"]
    # Ids go on after every id the v1 database issued (its deleted ones included).
    user = next(iter(expected))
    created = stack.request("POST", "/api/" + urllib.parse.quote(user, safe="") + "/tasks", make_token(user), {"title": "new"})
    assert created.status == 201 and created.json["id"] > highest


@pytest.mark.single_backend
def test_a_version_1_sqlite_file_is_upgraded_in_place(tmp_path):
    database = str(tmp_path / "v1.db")
    shutil.copy(os.path.join(FIXTURES, "v1-sqlite.db"), database)
    expected = json.load(open(os.path.join(FIXTURES, "v1-sqlite.json"), encoding="utf-8"))
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET)
    before = subprocess.run([BINARY, "check", "--database", database], env=env, capture_output=True, text=True)
    assert before.returncode == 1 and "schema version is 1, expected 6" in before.stderr
    # `serve` migrates at start-up, as `migrate` does.
    stack = Stack(processes=2, threads=2, database=database, env={"TODO_DATABASE": database}).start()
    try:
        check_every_old_task(stack, expected)
    finally:
        stack.stop()
    after = subprocess.run([BINARY, "check", "--database", database], env=env, capture_output=True, text=True)
    assert after.returncode == 0 and "schema version 6" in after.stdout


@pytest.mark.postgres_only
def test_a_version_1_postgresql_database_is_upgraded_in_place():
    database = create_postgres_database()
    try:
        dump = open(os.path.join(FIXTURES, "v1-postgresql.sql"), encoding="utf-8").read()
        # Restored by the workers' role, which then owns every table, as `migrate` had made them.
        restore = subprocess.run([psql_binary(), "-qX", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"],
                                 input=dump, capture_output=True, text=True)
        assert restore.returncode == 0, restore.stderr
        expected = json.load(open(os.path.join(FIXTURES, "v1-postgresql.json"), encoding="utf-8"))
        migrated = subprocess.run([BINARY, "migrate", "--database", database], env=dict(os.environ, BETTER_AUTH_SECRET=SECRET),
                                  capture_output=True, text=True)
        assert migrated.returncode == 0, migrated.stderr
        stack = Stack(processes=2, threads=2, database=database, env={"TODO_DATABASE": database}).start()
        try:
            check_every_old_task(stack, expected)
        finally:
            stack.stop()
        checked = subprocess.run([BINARY, "check", "--database", database], env=dict(os.environ, BETTER_AUTH_SECRET=SECRET),
                                 capture_output=True, text=True)
        assert checked.returncode == 0 and "row-level security enabled and forced on every table" in checked.stdout
    finally:
        drop_postgres_database(database)
