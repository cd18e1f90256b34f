"""scripts/run-local.sh, the README's first command: two instances on different ports run side by
side, and stopping one (Ctrl-C) leaves the other serving."""
import os
import signal
import subprocess
import time
import urllib.request

from stack import BINARY, REPO, SECRET, free_port
import pytest

pytestmark = pytest.mark.single_backend


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start(port, database):
    env = dict(os.environ, PORT=str(port), TODO_DATABASE=str(database), BETTER_AUTH_SECRET=SECRET, TODO_FCGI_BIN=BINARY)
    process = subprocess.Popen([os.path.join(REPO, "scripts", "run-local.sh")], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not healthy(port):
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.1)
    assert healthy(port)
    return process


def interrupt(process):
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    assert process.wait(timeout=30) in (0, 130)


def test_two_instances_run_side_by_side_and_stop_independently(tmp_path):
    first_port, second_port = free_port(), free_port()
    first = start(first_port, tmp_path / "first.db")
    second = None
    try:
        second = start(second_port, tmp_path / "second.db")
        assert os.path.exists(os.path.join(REPO, ".run", str(first_port), "todo-fcgi.sock"))
        assert os.path.exists(os.path.join(REPO, ".run", str(second_port), "todo-fcgi.sock"))
        interrupt(second)
        second = None
        assert not healthy(second_port)
        for _ in range(5):
            assert healthy(first_port)  # its socket and worker are its own
        # A second instance on a port in use is refused before it touches the first one's socket.
        clash = subprocess.run([os.path.join(REPO, "scripts", "run-local.sh")], capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, PORT=str(first_port), BETTER_AUTH_SECRET=SECRET, TODO_FCGI_BIN=BINARY,
                                        TODO_DATABASE=str(tmp_path / "third.db")))
        assert clash.returncode == 1 and "already serves port" in clash.stderr
        assert healthy(first_port)
    finally:
        if second is not None:
            interrupt(second)
        interrupt(first)
    assert not os.path.exists(os.path.join(REPO, ".run", str(first_port), "todo-fcgi.sock"))
