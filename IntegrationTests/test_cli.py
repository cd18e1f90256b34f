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
