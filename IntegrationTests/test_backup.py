"""`todo-fcgi backup PATH`: an online, consistent copy while writes go on through nginx."""
import os
import sqlite3
import subprocess
import threading

from stack import BINARY, SECRET, Stack, make_token
import pytest

pytestmark = pytest.mark.single_backend


def test_backup_while_serving_writes_then_restore(tmp_path):
    stack = Stack(processes=1, threads=4).start()
    try:
        token = make_token("backed-up")
        for i in range(50):
            assert stack.request("POST", "/api/backed-up/tasks", token, {"title": f"before {i}"}).status == 201
        stop = threading.Event()
        statuses = []

        def writer():
            n = 0
            while not stop.is_set():
                statuses.append(stack.request("POST", "/api/backed-up/tasks", token, {"title": f"during {n}"}).status)
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        copy = tmp_path / "copy.db"
        env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": SECRET, "TODO_DATABASE": stack.database}
        result = subprocess.run([BINARY, "backup", str(copy)], env=env, capture_output=True, text=True, timeout=60)
        stop.set()
        thread.join()
        assert result.returncode == 0, result.stderr
        assert "integrity ok" in result.stdout
        assert set(statuses) == {201}

        live = {row for row in sqlite3.connect(stack.database).execute("SELECT id, title FROM tasks")}
        saved = {row for row in sqlite3.connect(copy).execute("SELECT id, title FROM tasks")}
        assert len(saved) >= 50 and saved <= live   # a snapshot: nothing invented, nothing half-written
        assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # VACUUM INTO writes a rollback-journal file; the backup is switched to WAL so that a
        # restored copy serves like the original.
        assert sqlite3.connect(copy).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # Refuses to overwrite, and the copy is a database the worker accepts.
        assert subprocess.run([BINARY, "backup", str(copy)], env=env, capture_output=True).returncode == 2
        check = subprocess.run([BINARY, "check", "--database", str(copy)], env=env, capture_output=True, text=True)
        assert check.returncode == 0 and "database ok" in check.stdout
    finally:
        stack.stop()


def test_check_reports_a_corrupt_database(tmp_path):
    database = tmp_path / "corrupt.db"
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": SECRET, "TODO_DATABASE": str(database)}
    assert subprocess.run([BINARY, "migrate"], env=env, capture_output=True).returncode == 0
    connection = sqlite3.connect(database)
    connection.executemany("INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)"
                           " VALUES ('u', ?, ?, NULL, 0, 1, 1)", [(f"t{i}" * 20, f"t{i}" * 20) for i in range(2000)])
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    data = bytearray(database.read_bytes())
    page = 4096
    for offset in range(page * 3, min(len(data), page * 12)):   # scribble over b-tree pages, keep the header
        data[offset] = 0xA5
    database.write_bytes(bytes(data))
    result = subprocess.run([BINARY, "check"], env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr   # a runtime failure, not a configuration error (2)
    assert "integrity" in (result.stdout + result.stderr) or "malformed" in (result.stdout + result.stderr)


def test_backup_of_a_mistyped_database_creates_nothing_and_exits_1(tmp_path):
    typo = tmp_path / "tood.db"
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": SECRET, "TODO_DATABASE": str(typo)}
    result = subprocess.run([BINARY, "backup", str(tmp_path / "copy.db")], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not typo.exists() and not (tmp_path / "copy.db").exists()


def test_a_database_in_rollback_journal_mode_is_served_in_wal_mode():
    stack = Stack(processes=1, threads=2)
    subprocess.run([BINARY, "migrate"], env=stack.env, check=True, capture_output=True)
    connection = sqlite3.connect(stack.database)
    assert connection.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    connection.close()
    stack.start()
    try:
        token = make_token("journal")
        assert stack.request("POST", "/api/journal/tasks", token, {"title": "t"}).status == 201
        assert sqlite3.connect(stack.database).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        stack.stop()
