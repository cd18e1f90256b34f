"""The todo-fcgi command line: version, help, check, migrate, token, configuration errors."""
import os
import subprocess
import tempfile

from stack import BINARY, SECRET
import pytest

pytestmark = pytest.mark.single_backend


def run(*args, env=None):
    full_env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": SECRET}
    full_env.update(env or {})
    return subprocess.run([BINARY, *args], env=full_env, capture_output=True, text=True, timeout=30)


def test_version_and_help():
    assert run("--version").stdout.startswith("todo-fcgi ")
    help_text = run("--help").stdout
    for word in ["serve", "migrate", "check", "token", "--listen", "--threads", "BETTER_AUTH_SECRET"]:
        assert word in help_text


def test_short_secret_is_a_configuration_error():
    result = run("check", env={"BETTER_AUTH_SECRET": "short"})
    assert result.returncode == 2
    assert "at least 32 bytes" in result.stderr and result.stderr.count("\n") == 1


def test_missing_secret_and_bad_flags_exit_2():
    assert run("check", env={"BETTER_AUTH_SECRET": ""}).returncode == 2
    assert run("serve", "--threads", "0").returncode == 2
    assert run("serve", "--queue-timeout", "0").returncode == 2
    assert run("serve", "--queue-timeout", "25001").returncode == 2
    assert run("serve", "--max-connections", "0").returncode == 2
    refused = run("check", env={"FCGI_WEB_SERVER_ADDRS": "127.0.0.1,frontend.internal"})
    assert refused.returncode == 2 and "FCGI_WEB_SERVER_ADDRS" in refused.stderr
    assert run("serve", "--bogus").returncode == 2
    assert run("frobnicate").returncode == 2


def test_serve_without_socket_explains():
    result = subprocess.run([BINARY, "serve"], env={"BETTER_AUTH_SECRET": SECRET, "PATH": os.environ["PATH"],
                                                    "TODO_DATABASE": tempfile.mktemp(suffix=".db")},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "not a listening socket" in result.stderr


def test_migrate_then_check(tmp_path):
    database = str(tmp_path / "t.db")
    assert run("migrate", "--database", database).returncode == 0
    check = run("check", env={"TODO_DATABASE": database})
    assert check.returncode == 0, check.stderr
    assert "configuration ok" in check.stdout and "database ok" in check.stdout


def test_migrate_reports_each_schema_version_on_stderr_and_only_the_summary_on_stdout(tmp_path):
    """Not a terminal here: the first and the last state on stderr, nothing when the schema is
    already current, nothing with --quiet; stdout keeps the one summary line."""
    database = str(tmp_path / "m.db")
    first = run("migrate", "--database", database)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"database {database} is at schema version 6\n"
    lines = first.stderr.splitlines()
    assert lines[0].startswith("migrate: 0 / 6 schema versions (0%)"), first.stderr
    assert lines[-1].startswith("migrate: 6 / 6 schema versions (100%), ") and lines[-1].endswith(" s elapsed"), first.stderr
    assert all(line.startswith("migrate: ") for line in lines)
    again = run("migrate", "--database", database)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == first.stdout
    quiet = run("migrate", "--quiet", "--database", str(tmp_path / "q.db"))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.endswith("is at schema version 6\n")


def test_check_refuses_a_foreign_database(tmp_path):
    database = tmp_path / "foreign.db"
    subprocess.run(["python3", "-c", f"import sqlite3; c=sqlite3.connect('{database}'); c.execute('create table x(y)'); c.commit()"],
                   check=True)
    result = run("check", "--database", str(database))
    assert result.returncode == 1 and "not a todo-fcgi database" in result.stderr


def test_token_verifies_against_the_worker_secret():
    result = run("token", "--sub", "alice", "--ttl", "60")
    assert result.returncode == 0
    header, payload, signature = result.stdout.strip().split(".")
    assert header and payload and signature
    assert run("token").returncode == 2


def test_keygen_never_writes_through_a_symlink_and_replaces_only_with_force(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    private = tmp_path / "private.jwk"
    os.symlink(victim, private)
    jwks = tmp_path / "jwks.json"
    refused = run("keygen", "--private-key", str(private), "--jwks", str(jwks))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert victim.read_text() == "precious" and not jwks.exists()
    forced = run("keygen", "--private-key", str(private), "--jwks", str(jwks), "--force")
    assert forced.returncode == 0, forced.stderr
    assert victim.read_text() == "precious"          # the link itself was replaced, not its target
    assert not os.path.islink(private) and os.stat(private).st_mode & 0o777 == 0o600
    assert '"d":' in private.read_text() and os.path.exists(jwks)


def test_keygen_creates_the_private_key_with_mode_0600(tmp_path):
    private = tmp_path / "private.jwk"
    result = run("keygen", "--private-key", str(private), "--jwks", str(tmp_path / "jwks.json"))
    assert result.returncode == 0, result.stderr
    assert os.stat(private).st_mode & 0o777 == 0o600
    again = run("keygen", "--private-key", str(private), "--jwks", str(tmp_path / "other.json"))
    assert again.returncode == 2


def test_copy_between_sqlite_files_keeps_every_field_and_the_id_sequence(tmp_path):
    import sqlite3
    source, destination = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert run("migrate", "--database", source).returncode == 0
    with sqlite3.connect(source) as connection:
        connection.executemany(
            "INSERT INTO tasks (id, user_id, title, title_key, description, completed, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            [(3, "u1", "Ünïcode", "ünïcode", None, 0, 1000, 1000), (7, "u2", "two", "two", "d\n\"q\"", 1, 2000, 2500)])
        # Task 9 was created and deleted: the sequence remembers it.
        connection.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'tasks'")
    copied = run("copy", "--from", source, "--to", destination)
    assert copied.returncode == 0, copied.stderr
    assert "copied 2 tasks" in copied.stdout and "ids continue after 9" in copied.stdout
    query = "SELECT id, user_id, title, title_key, description, completed, created_at, updated_at FROM tasks ORDER BY id"
    assert sqlite3.connect(destination).execute(query).fetchall() == sqlite3.connect(source).execute(query).fetchall()
    assert sqlite3.connect(destination).execute("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'").fetchone()[0] == 9
    # A destination with tasks is refused and left as it was.
    refused = run("copy", "--from", source, "--to", destination)
    assert refused.returncode == 2 and "already holds 2 tasks" in refused.stderr


def test_copy_reports_progress_on_stderr_and_only_the_summary_on_stdout(tmp_path):
    """Before: nothing was printed until the end. Now (not a terminal here): a line on stderr
    every few seconds and the final count, while stdout keeps only the summary scripts parse."""
    import sqlite3
    source = str(tmp_path / "src.db")
    assert run("migrate", "--database", source).returncode == 0
    with sqlite3.connect(source) as connection:
        connection.executemany(
            "INSERT INTO tasks (id, user_id, title, title_key, description, completed, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            [(n, f"u{n % 7}", f"t{n}", f"t{n}", None, 0, 1000 + n, 1000 + n) for n in range(1, 2501)])
    copied = run("copy", "--from", source, "--to", str(tmp_path / "a.db"))
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == f"copied 2500 tasks from {source} to {tmp_path / 'a.db'}; ids continue after 2500\n"
    lines = copied.stderr.splitlines()
    assert lines and lines[-1].startswith("copy: 2,500 / 2,500 tasks (100%)") and all(line.startswith("copy: ") for line in lines)
    assert "\r" not in copied.stderr and "\x1b" not in copied.stderr
    quiet = run("copy", "--quiet", "--from", source, "--to", str(tmp_path / "b.db"))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("copied 2500 tasks")


def test_backup_reports_progress_on_stderr_and_only_the_summary_on_stdout(tmp_path):
    import sqlite3
    source = str(tmp_path / "live.db")
    assert run("migrate", "--database", source).returncode == 0
    with sqlite3.connect(source) as connection:
        connection.executemany(
            "INSERT INTO tasks (id, user_id, title, title_key, description, completed, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            [(n, "u", f"t{n}", f"t{n}", "d" * 1000, 0, 1000 + n, 1000 + n) for n in range(1, 4001)])
    backed = run("backup", str(tmp_path / "copy.db"), "--database", source)
    assert backed.returncode == 0, backed.stderr
    assert backed.stdout == f"backed up {source} to {tmp_path / 'copy.db'}: 4000 tasks, integrity ok\n"
    lines = backed.stderr.splitlines()
    assert lines and all(line.startswith("backup: ") and " MiB" in line for line in lines), lines
    assert " left" not in lines[-1] and lines[-1].startswith("backup: ") and " MiB (" in lines[-1]
    quiet = run("backup", "--quiet", str(tmp_path / "quiet.db"), "--database", source)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("backed up ")


def test_copy_refuses_bad_arguments_and_creates_nothing_from_a_missing_source(tmp_path):
    destination = tmp_path / "new.db"
    missing = run("copy", "--from", str(tmp_path / "typo.db"), "--to", str(destination))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not destination.exists()
    assert run("copy", "--from", str(destination)).returncode == 2
    same = run("copy", "--from", str(destination), "--to", str(destination))
    assert same.returncode == 2 and "same database" in same.stderr
    malformed = run("copy", "--from", str(destination), "--to", "postgresql://x@/y?nosuchoption=1")
    assert malformed.returncode == 2 and "invalid PostgreSQL connection string" in malformed.stderr


def test_check_reports_tasks_written_around_the_service_and_recount_mends_them(tmp_path):
    """Rows inserted with sqlite3 move no counter: `check` fails naming the users whose counts
    differ, `recount` counts them again, and `check` passes (#38)."""
    import sqlite3
    database = str(tmp_path / "around.db")
    assert run("migrate", "--database", database).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES (?,?,?,?,?,?)",
            [("u1", "a", "a", 0, 1000, 1000), ("u1", "b", "b", 1, 1000, 1000), ("u2", "c", "c", 0, 1000, 1000)])
    checked = run("check", "--database", database)
    assert checked.returncode == 1
    assert "2 users' task counts differ from their tasks" in checked.stderr + checked.stdout
    recounted = run("recount", "--database", database)
    assert recounted.returncode == 0, recounted.stderr
    assert recounted.stdout == f"database {database}: counted the tasks of 2 users again\n"
    assert run("check", "--database", database).returncode == 0
    assert "nothing changed" in run("recount", "--database", database).stdout
    with sqlite3.connect(database) as connection:
        counts = connection.execute("SELECT user_id, task_count, completed_count FROM task_sync ORDER BY user_id").fetchall()
    assert counts == [("u1", 2, 1), ("u2", 1, 0)]
