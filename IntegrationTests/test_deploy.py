"""Production deployment: TLS site, systemd units, install script, secret reload, CORS, limits.

The TLS tests run nginx with the production TLS snippet and a throw-away CA on loopback.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from stack import BINARY, REPO, SECRET, Stack, make_token

pytestmark = pytest.mark.single_backend


@pytest.fixture(scope="module")
def tls_stack():
    s = Stack(processes=1, threads=4, tls=True, rate_limit=2,
              env={"TODO_CORS_ORIGINS": "http://localhost:3000,https://app.example.com"}).start()
    yield s
    s.stop()


def curl(stack, *args):
    result = subprocess.run(["curl", "-sS", "--cacert", os.path.join(stack.cert_dir, "ca.crt"),
                             "--resolve", f"localhost:{stack.tls_port}:127.0.0.1", *args],
                            capture_output=True, text=True, timeout=30)
    return result


def test_http_redirects_to_https(tls_stack):
    response = tls_stack.request("GET", "/api/alice/tasks?x=1")
    assert response.status == 301
    assert response.header("Location") == f"https://127.0.0.1:{tls_stack.tls_port}/api/alice/tasks?x=1"


def test_https_serves_the_api_with_hsts_and_security_headers(tls_stack):
    token = make_token("tls-user")
    response = tls_stack.request("GET", "/api/tls-user/tasks", token, tls=True)
    assert response.status == 200 and response.json == []
    assert response.header("Strict-Transport-Security") == "max-age=63072000"
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Cache-Control") == "no-store"
    assert response.header("Server") == "nginx"  # server_tokens off: no version


def test_http2_is_negotiated(tls_stack):
    result = curl(tls_stack, "--http2", "-o", "/dev/null", "-w", "%{http_version}",
                  f"https://localhost:{tls_stack.tls_port}/health")
    assert result.stdout == "2", result.stderr


def test_old_tls_versions_are_refused(tls_stack):
    result = curl(tls_stack, "--tlsv1.1", "--tls-max", "1.1", "-o", "/dev/null",
                  f"https://localhost:{tls_stack.tls_port}/health")
    assert result.returncode != 0


def test_rate_limit_answers_429_json_with_retry_after(tls_stack):
    token = make_token("limited")
    statuses = []
    for _ in range(40):
        response = tls_stack.request("GET", "/api/limited/tasks", token, tls=True)
        statuses.append(response.status)
        if response.status == 429:
            assert response.is_error("rate_limited")
            assert response.header("Retry-After") == "1"
            # The error location's own add_header must not drop the server's security headers.
            assert response.header("Strict-Transport-Security") == "max-age=63072000"
            assert response.header("X-Content-Type-Options") == "nosniff"
            assert response.header("Cache-Control") == "no-store"
            break
    assert statuses[0] == 200 and statuses[-1] == 429, statuses
    time.sleep(1.2)


def test_health_is_rate_limited_per_client(tls_stack):
    statuses = [tls_stack.request("GET", "/health", tls=True).status for _ in range(30)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429, statuses
    limited = tls_stack.request("GET", "/health", tls=True)
    assert limited.status == 429 and limited.is_error("rate_limited") and limited.header("Retry-After") == "1"
    time.sleep(1.2)


def test_nginx_405_over_tls_keeps_hsts_and_nosniff(tls_stack):
    response = tls_stack.request("TRACE", "/api/alice/tasks", tls=True)
    assert response.status == 405 and response.is_error("method_not_allowed")
    assert response.header("Allow") == "GET, HEAD, POST"
    assert response.header("Strict-Transport-Security") == "max-age=63072000"
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Cache-Control") == "no-store"


def test_413_json_over_tls(tls_stack):
    response = tls_stack.request("POST", "/api/big/tasks", make_token("big"), b"x" * 70000, tls=True)
    assert response.status == 413 and response.is_error("payload_too_large")


def test_cors_preflight_allowed_and_denied(tls_stack):
    time.sleep(1.2)
    allowed = tls_stack.request("OPTIONS", "/api/alice/tasks", tls=True,
                                headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization, content-type"})
    assert allowed.status == 204
    assert allowed.header("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert allowed.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE"
    assert allowed.header("Access-Control-Allow-Headers") == "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID, X-Consistency-Token"
    denied = tls_stack.request("OPTIONS", "/api/alice/tasks", tls=True,
                               headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert denied.status == 405 and denied.header("Access-Control-Allow-Origin") is None
    time.sleep(1.2)
    actual = tls_stack.request("GET", "/api/alice/tasks", make_token("alice"), tls=True,
                               headers={"Origin": "https://app.example.com"})
    assert actual.status == 200
    assert actual.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert actual.header("Access-Control-Expose-Headers") == "Location, X-Total-Count, Retry-After, ETag, Idempotent-Replayed, X-Request-ID, X-Consistency-Token"
    assert "Origin" in actual.header("Vary")


def test_502_json_when_the_worker_is_gone(tls_stack):
    time.sleep(1.2)
    tls_stack.stop_workers()
    try:
        response = tls_stack.request("GET", "/api/alice/tasks", make_token("alice"), tls=True)
        assert response.status == 502 and response.is_error("bad_gateway")
    finally:
        tls_stack.start_workers()
        time.sleep(0.3)


def test_sighup_reloads_the_secret_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_SECRET_FILE": str(secret_file)})
    stack.start()
    try:
        old_token = make_token("rotator")
        assert stack.request("GET", "/api/rotator/tasks", old_token).status == 200
        new_secret = "rotated-secret-" + "r" * 32
        secret_file.write_text(new_secret)
        os.kill(stack.worker_pids[0], signal.SIGHUP)
        deadline = time.time() + 5
        while time.time() < deadline and stack.request("GET", "/api/rotator/tasks", old_token).status == 200:
            time.sleep(0.05)
        assert stack.request("GET", "/api/rotator/tasks", old_token).is_error("invalid_token")
        assert stack.request("GET", "/api/rotator/tasks", make_token("rotator", secret=new_secret)).status == 200
        # A bad file on a later SIGHUP keeps the working secret.
        secret_file.write_text("short")
        os.kill(stack.worker_pids[0], signal.SIGHUP)
        time.sleep(0.3)
        assert stack.request("GET", "/api/rotator/tasks", make_token("rotator", secret=new_secret)).status == 200
    finally:
        stack.stop()


def test_systemd_credential_is_read(tmp_path):
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "better-auth-secret").write_text(SECRET + "\n")
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "wrong-" + "w" * 40,
                                               "CREDENTIALS_DIRECTORY": str(credentials)})
    stack.start()
    try:
        assert stack.request("GET", "/api/cred/tasks", make_token("cred")).status == 200
    finally:
        stack.stop()


def test_access_log_has_one_line_per_request_without_token(tmp_path):
    log = tmp_path / "worker.log"
    socket_path = str(tmp_path / "w.sock")
    env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=str(tmp_path / "w.db"))
    with open(log, "w") as sink:
        worker = subprocess.Popen([BINARY, "serve", "--listen", socket_path, "--threads", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=sink)
    stack = Stack(processes=1, threads=2)
    stack.socket_path = socket_path
    stack.start_workers = lambda: None
    try:
        while not os.path.exists(socket_path):
            time.sleep(0.02)
        stack.start()
        token = make_token("logged-user")
        stack.request("POST", "/api/logged-user/tasks", token, {"title": "x"})
        stack.request("GET", "/api/logged-user/tasks/999", token)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
        stack.stop()
    text = log.read_text()
    assert re.search(r"info: POST /api/\{user_id\}/tasks 201 \d+us queued=\d+us user=[0-9a-f]{12} id=[0-9a-f]{32}\n", text), text
    assert re.search(r"info: GET /api/\{user_id\}/tasks/\{id\} 404 \d+us queued=\d+us user=[0-9a-f]{12} id=[0-9a-f]{32}\n", text), text
    assert token not in text and "logged-user" not in text and SECRET not in text
    assert "secret from environment" in text


def test_units_verify_and_score_safe(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: scripts/install-deps.sh installs the systemd package")
    root = tmp_path / "root"
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--no-build", "--no-start"],
                   env=dict(os.environ, DESTDIR=str(root)), check=True, capture_output=True)
    units = [str(root / "etc/systemd/system/todo-fcgi.socket"), str(root / "etc/systemd/system/todo-fcgi.service")]
    # verify resolves ExecStart: point it at the staged binary.
    service = open(units[1]).read().replace("/usr/local/bin/todo-fcgi", str(root / "usr/local/bin/todo-fcgi"))
    open(units[1], "w").write(service)
    verify = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert "todo-fcgi" not in verify.stderr, verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", units[1]], capture_output=True, text=True)
    match = re.search(r"Overall exposure level for todo-fcgi.service: ([0-9.]+) (\w+)", security.stdout)
    assert match, security.stdout + security.stderr
    assert float(match.group(1)) <= 2.0 and match.group(2) in ("SAFE", "OK"), match.group(0)


def test_postgresql_drop_in_takes_the_database_from_the_environment_and_verifies(tmp_path):
    """The drop-in, applied as systemd applies it (its empty ExecStart= resets the list), gives a
    unit that verifies, serves whatever TODO_DATABASE names, may dial out, and stays sandboxed."""
    root = tmp_path / "root"
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--no-build", "--no-start"],
                   env=dict(os.environ, DESTDIR=str(root)), check=True, capture_output=True)
    drop_in = (root / "usr/local/share/doc/todo-fcgi/postgresql.conf").read_text()
    service_path = root / "etc/systemd/system/todo-fcgi.service"
    service = service_path.read_text() + "\n" + drop_in.replace("[Service]\n", "")
    service = service.replace("/usr/local/bin/todo-fcgi", str(root / "usr/local/bin/todo-fcgi"))
    service_path.write_text(service)
    verify = subprocess.run(["systemd-analyze", "verify", str(root / "etc/systemd/system/todo-fcgi.socket"), str(service_path)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    # The last ExecStart wins: serve without --database, so TODO_DATABASE decides.
    exec_start = [line for line in service.splitlines() if line.startswith("ExecStart=")][-1]
    assert exec_start.endswith("todo-fcgi serve"), exec_start
    assert [line for line in service.splitlines() if line.startswith("RestrictAddressFamilies=")][-1].endswith("AF_INET AF_INET6")
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", str(service_path)], capture_output=True, text=True)
    match = re.search(r"Overall exposure level for todo-fcgi.service: ([0-9.]+) (\w+)", security.stdout)
    assert match and float(match.group(1)) <= 2.5, security.stdout[-500:]


def test_production_site_is_valid_nginx(tmp_path):
    root = tmp_path / "root"
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--no-build", "--no-start"],
                   env=dict(os.environ, DESTDIR=str(root)), check=True, capture_output=True)
    certs = tmp_path / "tls"
    subprocess.run([os.path.join(REPO, "scripts", "make-dev-cert.sh"), str(certs)], check=True, capture_output=True)
    site = (root / "etc/nginx/sites-available/todo-fcgi").read_text()
    site = (site.replace("/etc/nginx/snippets/", str(root / "etc/nginx/snippets") + "/")
                .replace("/etc/letsencrypt/live/api.example.com/fullchain.pem", str(certs / "server.crt"))
                .replace("/etc/letsencrypt/live/api.example.com/privkey.pem", str(certs / "server.key")))
    (tmp_path / "site.conf").write_text(site)
    # The API snippet includes snippets/… relative to the configuration directory (/etc/nginx).
    (tmp_path / "snippets").symlink_to(root / "etc/nginx/snippets")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n")
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # nginx's CORS map is written from the service's TODO_CORS_ORIGINS, on every install run.
    cors_map = root / "etc/nginx/snippets/todo-fcgi-cors.conf"
    assert '"https://' not in cors_map.read_text()
    env_file = root / "etc/todo-fcgi/todo-fcgi.env"
    env_file.write_text(env_file.read_text() + "TODO_CORS_ORIGINS=https://app.example.com,http://localhost:3000\n")
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--no-build", "--no-start"],
                   env=dict(os.environ, DESTDIR=str(root)), check=True, capture_output=True)
    assert '"https://app.example.com" "https://app.example.com";' in cors_map.read_text()
    assert '"http://localhost:3000" "http://localhost:3000";' in cors_map.read_text()
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # An entry that is not an origin stops the install: it would break nginx and the worker alike.
    env_file.write_text(env_file.read_text() + 'TODO_CORS_ORIGINS="https://x.example; evil"\n')
    failed = subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--no-build", "--no-start"],
                            env=dict(os.environ, DESTDIR=str(root)), capture_output=True, text=True)
    assert failed.returncode != 0 and "is not an origin" in failed.stderr
    assert '"https://app.example.com" "https://app.example.com";' in cors_map.read_text()
