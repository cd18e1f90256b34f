"""Starts the real stack on loopback: nginx -> FastCGI (unix socket) -> todo-fcgi -> SQLite,
or PostgreSQL when TODO_TEST_POSTGRES holds an admin URI (scripts/postgres-cluster.sh prints
one): each stack then gets a database of its own, owned by the unprivileged role `todo`.

Used by the integration tests and usable by hand:
    python3 IntegrationTests/stack.py   # starts a stack and prints its URL until Ctrl-C
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BINARY = os.environ.get("TODO_FCGI_BIN", os.path.join(REPO, ".build", "release", "todo-fcgi"))
SECRET = "integration-secret-" + "x" * 32
# The admin URI of a throwaway PostgreSQL server: when set, stacks use PostgreSQL.
POSTGRES_ADMIN = os.environ.get("TODO_TEST_POSTGRES", "")
BACKEND = "postgresql" if POSTGRES_ADMIN else "sqlite"


def psql(sql, uri=None, user=None):
    """Runs `sql` with psql against the test server (as postgres, or `user`) and returns its output."""
    uri = uri or POSTGRES_ADMIN
    if user:
        uri = re.sub(r"^postgresql://[^@/]*@", f"postgresql://{user}@", uri)
    result = subprocess.run([psql_binary(), "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", uri, "-f", "-"],
                            input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def psql_binary():
    found = shutil.which("psql")
    if found:
        return found
    versions = sorted(d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()) if os.path.isdir("/usr/lib/postgresql") else []
    return f"/usr/lib/postgresql/{versions[-1]}/bin/psql" if versions else "psql"


def create_postgres_database():
    """A new, empty database owned by the role `todo`; returns the URI the workers use."""
    name = "todo_it_" + os.urandom(6).hex()
    psql(f"CREATE DATABASE {name} OWNER todo")
    return re.sub(r"^postgresql://[^@/]*@/[^?]*", f"postgresql://todo@/{name}", POSTGRES_ADMIN)


def drop_postgres_database(uri):
    name = re.match(r"^postgresql://[^/]*/([^?]*)", uri).group(1)
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(sub, secret=SECRET, lifetime=600, header=None, claims=None, now=None):
    """An HS256 token minted independently of the Swift code under test."""
    now = int(time.time()) if now is None else now
    payload = {"sub": sub, "iat": now, "exp": now + lifetime}
    if claims:
        payload.update(claims)
    head = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def json(self):
        return json.loads(self.body)

    def is_error(self, code):
        """True when the body is exactly {"detail": <non-empty str>, "code": code} served as JSON."""
        if not (self.header("Content-Type") or "").startswith("application/json"):
            return False
        try:
            body = self.json
        except ValueError:
            return False
        return (isinstance(body, dict) and set(body) == {"detail", "code"} and body["code"] == code
                and isinstance(body["detail"], str) and body["detail"] != "")


class Stack:
    """nginx on a free loopback port in front of `processes` x `threads` workers under spawn-fcgi."""

    def __init__(self, processes=2, threads=4, env=None, tls=False, rate_limit=None, database=None, upstream=None):
        self.dir = tempfile.mkdtemp(prefix="todo-fcgi-it-")
        # nginx's upstream servers, e.g. "server 127.0.0.2:9000; server 127.0.0.3:9000;" for
        # workers on other hosts; by default the workers' unix socket.
        self.upstream = upstream
        self.log_path = os.path.join(self.dir, "workers.log")  # the workers' stderr
        self.port = free_port()
        self.socket_path = os.path.join(self.dir, "todo-fcgi.sock")
        self.database = database or (create_postgres_database() if POSTGRES_ADMIN else os.path.join(self.dir, "todo.db"))
        self.owns_database = database is None
        self.processes = processes
        self.threads = threads
        self.env = dict(os.environ, BETTER_AUTH_SECRET=SECRET, TODO_DATABASE=self.database)
        if POSTGRES_ADMIN:
            # Beside an SQLite file by default; with PostgreSQL, this stack's own.
            self.env["TODO_METRICS_FILE"] = os.path.join(self.dir, "todo-fcgi.metrics")
        self.env.update(env or {})
        self.worker_pids = []
        self.nginx = None
        self.tls_port = free_port() if tls else None
        self.cert_dir = os.path.join(self.dir, "tls") if tls else None
        self.rate_limit = rate_limit

    def start(self):
        # nginx takes the CORS allow-list from the workers' own TODO_CORS_ORIGINS.
        render_env = dict(os.environ, TODO_FCGI_BIN=BINARY, TODO_CORS_ORIGINS=self.env.get("TODO_CORS_ORIGINS", ""))
        if self.tls_port:
            subprocess.run([os.path.join(REPO, "scripts", "make-dev-cert.sh"), self.cert_dir], check=True,
                           capture_output=True)
            render_env.update(TLS_PORT=str(self.tls_port), CERT_DIR=self.cert_dir)
        if self.rate_limit:
            render_env["TODO_RATE_LIMIT"] = str(self.rate_limit)
        conf = subprocess.run([os.path.join(REPO, "scripts", "render-nginx-conf.sh"), self.dir, str(self.port),
                               self.socket_path], check=True, capture_output=True, text=True, env=render_env).stdout
        if self.upstream:
            conf = conf.replace(f"server unix:{self.socket_path};", self.upstream)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)
        self.start_workers()
        self.nginx = subprocess.Popen(["nginx", "-c", os.path.join(self.dir, "nginx.conf"), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_healthy()
        return self

    def start_workers(self):
        subprocess.run([BINARY, "migrate"], env=self.env, check=True, capture_output=True)
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        # spawn-fcgi points its children's stderr at /dev/null: a shell in between (replaced by
        # the worker through exec, so the PIDs stay right) sends it to the log file instead.
        out = subprocess.run(["spawn-fcgi", "-s", self.socket_path, "-M", "0660", "-F", str(self.processes), "--",
                              "/bin/sh", "-c", 'exec "$0" serve --threads "$1" 2>>"$2"', BINARY, str(self.threads),
                              self.log_path],
                             env=self.env, check=True, capture_output=True, text=True)
        self.worker_pids = [int(p) for p in re.findall(r"PID: (\d+)", out.stdout + out.stderr)]
        assert len(self.worker_pids) == self.processes, out

    def log(self):
        """Everything the workers wrote to stderr so far."""
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop_workers(self, sig=signal.SIGTERM, timeout=20):
        for pid in self.worker_pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + timeout
        for pid in self.worker_pids:
            while time.time() < deadline and pid_alive(pid):
                time.sleep(0.02)
            assert not pid_alive(pid), f"worker {pid} did not stop within {timeout}s"
        self.worker_pids = []

    def wait_healthy(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.request("GET", "/health").status in ((301,) if self.tls_port else (200,)):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("stack did not become healthy")

    def stop(self):
        # nginx first: it closes its kept-alive connections, so the workers stop at once
        # instead of waiting out their grace period for them.
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        if self.worker_pids:
            self.stop_workers()
        if self.owns_database and self.database.startswith("postgresql://"):
            drop_postgres_database(self.database)
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, token=None, body=None, headers=None, content_type="application/json", tls=False):
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = "Bearer " + token
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            if content_type:
                all_headers["Content-Type"] = content_type
        if tls:
            context = ssl.create_default_context(cafile=os.path.join(self.cert_dir, "ca.crt"))
            connection = http.client.HTTPSConnection("localhost", self.tls_port, timeout=30, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return Response(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def raw(self, data: bytes, timeout=10) -> bytes:
        """Sends raw bytes and returns everything the server answers before closing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)


def percentile(values, fraction):
    """The value below which `fraction` of `values` lie (nearest rank, never past the largest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def run_in_threads(target, count):
    """Runs target(0) ... target(count - 1) on `count` threads at once and waits for all."""
    import threading
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pid_alive(pid):
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


if __name__ == "__main__":
    stack = Stack().start()
    print(f"http://127.0.0.1:{stack.port}  token for alice: {make_token('alice')}")
    try:
        signal.pause()
    finally:
        stack.stop()
