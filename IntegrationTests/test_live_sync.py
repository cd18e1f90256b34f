"""Live sync (contract §13) through nginx → FastCGI → worker → database, on both backends:
`GET /api/{user_id}/tasks/changes?since=C&wait=S` answers at once when something changed after
C, else when the user's next change commits (through any process, or host), else empty after S
seconds; waiting holds no thread, is bounded, ends when the client hangs up or the worker stops."""
import http.client
import json
import os
import re
import selectors
import signal
import socket
import threading
import time

import pytest

from stack import BACKEND, Stack, make_token


def get(stack, path, token, timeout=90, method="GET"):
    """A request with its own timeout (a wait may outlast Stack.request's 30 s); (status, headers, json, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout)
    began = time.monotonic()
    try:
        connection.request(method, path, headers={"Authorization": "Bearer " + token})
        response = connection.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), (json.loads(body) if body else None), time.monotonic() - began
    finally:
        connection.close()


def cursor_now(stack, user, token):
    """The cursor after everything the user has now."""
    status, _, page, _ = get(stack, f"/api/{user}/tasks/changes", token)
    assert status == 200
    while page["has_more"]:
        status, _, page, _ = get(stack, f"/api/{user}/tasks/changes?since={page['cursor']}", token)
    return page["cursor"]


def create(stack, user, token, title):
    response = stack.request("POST", f"/api/{user}/tasks", token, {"title": title})
    assert response.status == 201, response.body
    return response.json


def metric(stack, name):
    text = stack.request("GET", "/metrics").body.decode()
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


class Waiter(threading.Thread):
    """A waiting GET in a thread of its own: `result` once answered."""

    def __init__(self, stack, path, token, timeout=90):
        super().__init__(daemon=True)
        self.args = (stack, path, token, timeout)
        self.result = None
        self.answered_at = None

    def run(self):
        self.result = get(*self.args)
        self.answered_at = time.monotonic()


def test_something_after_the_cursor_is_answered_at_once(stack, user, token):
    cursor = cursor_now(stack, user, token)
    task = create(stack, user, token, "already there")
    status, _, page, seconds = get(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token)
    assert status == 200
    assert [t["id"] for t in page["tasks"]] == [task["id"]]
    assert seconds < 2


def test_a_wait_that_sees_no_change_answers_empty_with_a_cursor_to_send_again(stack, user, token):
    cursor = cursor_now(stack, user, token)
    status, _, page, seconds = get(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=1", token)
    assert status == 200
    assert page["tasks"] == [] and page["deleted"] == [] and page["has_more"] is False
    assert 0.9 <= seconds < 3, seconds
    task = create(stack, user, token, "after the timeout")
    status, _, page, _ = get(stack, f"/api/{user}/tasks/changes?since={page['cursor']}", token)
    assert status == 200 and [t["id"] for t in page["tasks"]] == [task["id"]]


def test_the_users_own_change_wakes_the_wait(stack, user, token):
    cursor = cursor_now(stack, user, token)
    waiter = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token)
    waiter.start()
    time.sleep(0.5)
    assert waiter.result is None  # still waiting
    task = create(stack, user, token, "wakes it")
    written_at = time.monotonic()
    waiter.join(10)
    status, _, page, _ = waiter.result
    assert status == 200 and [t["id"] for t in page["tasks"]] == [task["id"]]
    assert waiter.answered_at - written_at < 1.0


def test_a_deletion_wakes_the_wait_with_the_deleted_id(stack, user, token):
    task = create(stack, user, token, "to delete")
    cursor = cursor_now(stack, user, token)
    waiter = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token)
    waiter.start()
    time.sleep(0.3)
    assert stack.request("DELETE", f"/api/{user}/tasks/{task['id']}", token).status == 204
    waiter.join(10)
    status, _, page, _ = waiter.result
    assert status == 200 and page["deleted"] == [task["id"]] and page["tasks"] == []


def test_another_users_change_leaves_the_wait_waiting(stack, user, token):
    cursor = cursor_now(stack, user, token)
    waiter = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=2", token)
    waiter.start()
    time.sleep(0.3)
    other = user + "-other"
    for index in range(5):
        create(stack, other, make_token(other), f"not yours {index}")
    waiter.join(10)
    status, _, page, seconds = waiter.result
    assert status == 200 and page["tasks"] == [] and page["deleted"] == []
    assert seconds >= 1.9, seconds


@pytest.mark.parametrize("value", ["-1", "61", "abc", "1.5", "", "1e1", "+5", "99999999999999999999"])
def test_a_bad_wait_is_invalid_query(stack, user, token, value):
    cursor = cursor_now(stack, user, token)
    for query in (f"since={cursor}&wait={value}", f"wait={value}"):
        status, _, body, _ = get(stack, f"/api/{user}/tasks/changes?{query}", token)
        assert status == 400 and body["code"] == "invalid_query", (query, body)
    status, _, _, _ = get(stack, f"/api/{user}/tasks/changes?since={cursor}&wait={value}", token, method="HEAD")
    assert status == 400


def test_wait_given_twice_is_invalid_query(stack, user, token):
    status, _, body, _ = get(stack, f"/api/{user}/tasks/changes?wait=1&wait=2", token)
    assert status == 400 and body["code"] == "invalid_query"


def test_no_wait_without_a_cursor_for_head_or_for_zero(stack, user, token):
    cursor = cursor_now(stack, user, token)
    for path, method in ((f"/api/{user}/tasks/changes?wait=30", "GET"),
                         (f"/api/{user}/tasks/changes?since={cursor}&wait=0", "GET"),
                         (f"/api/{user}/tasks/changes?since={cursor}&wait=30", "HEAD")):
        status, _, _, seconds = get(stack, path, token, method=method)
        assert status == 200 and seconds < 2, (path, method, seconds)


def test_a_wait_outlasts_nginx_s_usual_read_timeout(stack, user, token):
    """The API's nginx gives up on the worker after 30 s; the changes route waits up to 60."""
    cursor = cursor_now(stack, user, token)
    waiter = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=33", token)
    waiter.start()
    time.sleep(31.5)
    assert waiter.result is None
    task = create(stack, user, token, "after 31 s")
    waiter.join(10)
    status, _, page, _ = waiter.result
    assert status == 200 and [t["id"] for t in page["tasks"]] == [task["id"]]


def test_the_shipped_nginx_lets_a_sixty_second_wait_finish_on_the_changes_route_only():
    from stack import REPO
    api = open(os.path.join(REPO, "nginx", "todo-fcgi-api.conf")).read()
    assert api.count("fastcgi_read_timeout") == 2
    assert re.search(r"^fastcgi_read_timeout 30s;$", api, re.M)
    block = re.search(r"location ~ \^/api/\.\+/tasks/changes\$ \{(.*?)\}", api, re.S)
    assert block, "the changes route has its own location"
    timeout = int(re.search(r"fastcgi_read_timeout (\d+)s;", block.group(1)).group(1))
    assert timeout > 60
    assert "fastcgi_pass todo_fcgi;" in block.group(1)
    # The production site and the development template both take the API snippet whole.
    for name in ("todo-fcgi.site.conf", "dev.conf.template"):
        text = open(os.path.join(REPO, "nginx", name)).read()
        assert "todo-fcgi-api.conf" in text and "fastcgi_read_timeout" not in text, name
    # The location's pattern is the route table's template.
    template = "/api/{user_id}/tasks/changes"
    assert re.fullmatch(r"^/api/.+/tasks/changes$", template.replace("{user_id}", "someone"))


def test_a_change_through_another_process_or_host_wakes_the_wait(stack, user, token):
    """Another stack (its own nginx and worker processes) over the same database: for SQLite
    other processes on this host, for PostgreSQL another host."""
    other = Stack(processes=1, threads=2, database=stack.database).start()
    try:
        cursor = cursor_now(stack, user, token)
        waiters = [Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token) for _ in range(4)]
        for waiter in waiters:
            waiter.start()
        time.sleep(0.5)
        task = create(other, user, token, "from elsewhere")
        written_at = time.monotonic()
        for waiter in waiters:
            waiter.join(10)
            status, _, page, _ = waiter.result
            assert status == 200 and [t["id"] for t in page["tasks"]] == [task["id"]]
            assert waiter.answered_at - written_at < 1.0
    finally:
        other.stop()


def open_waits(stack, path, token, count):
    """`count` raw HTTP/1.1 requests to nginx, sent and left waiting; the sockets."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
               "Connection: close\r\n\r\n").encode()
    sockets = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
        client.sendall(request)
        sockets.append(client)
    return sockets


def wait_for_changes_of(stack, users, per_user, seconds):
    """`per_user` waits of `seconds` for each of `users` ((name, token) pairs), each after that
    user's cursor now, sent and left waiting; the sockets, user by user."""
    sockets = []
    for name, token in users:
        cursor = cursor_now(stack, name, token)
        sockets += open_waits(stack, f"/api/{name}/tasks/changes?since={cursor}&wait={seconds}", token, per_user)
    return sockets


def read_all(sockets, timeout):
    """Every socket's whole answer (until the server closes it), read together."""
    selector = selectors.DefaultSelector()
    answers = {}
    for client in sockets:
        client.setblocking(False)
        answers[client] = b""
        selector.register(client, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            data = key.fileobj.recv(65536)
            if data:
                answers[key.fileobj] += data
            else:
                selector.unregister(key.fileobj)
    for client in sockets:
        client.close()
    return [answers[client] for client in sockets]


def fill_then_wait_once_more(stack, user, token, count):
    """`count` waits of `user` held (the process's only waiters), then one more wait sent; the
    held sockets, the cursor and that last request's (status, headers, json, seconds)."""
    cursor = cursor_now(stack, user, token)
    path = f"/api/{user}/tasks/changes?since={cursor}&wait=30"
    sockets = open_waits(stack, path, token, count)
    wait_for_metric(stack, "todo_sync_waiters", lambda v: v == count)
    return sockets, cursor, get(stack, path, token)


def wait_for_metric(stack, name, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = metric(stack, name)
        if value is not None and predicate(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"{name} stayed {value}")


def test_waits_hold_no_thread_and_are_counted_and_a_client_that_hangs_up_costs_nothing(stack, user, token):
    # Four users (a user's share of a process's room is 10 by default), ten waits each.
    users = [(f"{user}-{n}", make_token(f"{user}-{n}")) for n in range(4)]
    before = metric(stack, "todo_sync_wakeups_total") or 0
    sockets = wait_for_changes_of(stack, users, 10, 30)
    # 40 waiting on 2 processes × 4 threads: more than the threads, and other requests still pass.
    wait_for_metric(stack, "todo_sync_waiters", lambda v: v >= 40)
    assert stack.request("GET", f"/api/{user}/tasks", token).status == 200
    assert metric(stack, "todo_threads_busy") <= 2
    # Half hang up: nginx closes their upstream connections, the workers drop them.
    for client in sockets[:20]:
        client.close()
    wait_for_metric(stack, "todo_sync_waiters", lambda v: v == 20)
    for name, bearer in users[2:]:
        create(stack, name, bearer, "for the other half")
    answers = read_all(sockets[20:], 10)
    assert all(answer.startswith(b"HTTP/1.1 200") and b"for the other half" in answer for answer in answers)
    wait_for_metric(stack, "todo_sync_waiters", lambda v: v == 0)
    assert metric(stack, "todo_sync_wakeups_total") >= before + 20


def test_timeouts_are_counted(stack, user, token):
    before = metric(stack, "todo_sync_wait_timeouts_total") or 0
    cursor = cursor_now(stack, user, token)
    status, _, _, _ = get(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=1", token)
    assert status == 200
    wait_for_metric(stack, "todo_sync_wait_timeouts_total", lambda v: v >= before + 1)


def test_past_the_bound_a_wait_is_503_wait_room_full_with_retry_after():
    stack = Stack(processes=1, threads=2, env={"TODO_MAX_WAITERS": "3"}).start()
    try:
        user, token = "bounded", make_token("bounded")
        sockets, cursor, (status, headers, body, seconds) = fill_then_wait_once_more(stack, user, token, 3)
        # Its own code and text: not "waited too long for a worker" (hardening round 3, item 3).
        assert status == 503 and body["code"] == "wait_room_full" and int(headers["Retry-After"]) >= 1
        assert "waiting for changes" in body["detail"]
        assert seconds < 2
        # Without wait the route still answers; the waiting three are answered by a change.
        assert get(stack, f"/api/{user}/tasks/changes?since={cursor}", token)[0] == 200
        create(stack, user, token, "wakes three")
        assert all(a.startswith(b"HTTP/1.1 200") for a in read_all(sockets, 10))
    finally:
        stack.stop()


def test_sigterm_answers_two_thousand_waiters_and_fails_none():
    stack = Stack(processes=2, threads=4).start()
    try:
        users = [(f"stopper-{i}", make_token(f"stopper-{i}")) for i in range(200)]
        sockets = wait_for_changes_of(stack, users, 10, 60)
        wait_for_metric(stack, "todo_sync_waiters", lambda v: v == 2000, timeout=30)
        began = time.monotonic()
        for pid in stack.worker_pids:
            os.kill(pid, signal.SIGTERM)
        answers = read_all(sockets, 30)
        statuses = [a.split(b" ", 2)[1] if a.startswith(b"HTTP/1.1 ") else b"none" for a in answers]
        assert statuses == [b"200"] * 2000, {s: statuses.count(s) for s in set(statuses)}
        bodies = [json.loads(a.split(b"\r\n\r\n", 1)[1]) for a in answers]
        assert all(b["tasks"] == [] and b["deleted"] == [] and b["has_more"] is False for b in bodies)
        assert time.monotonic() - began < 20
    finally:
        stack.stop()


@pytest.mark.postgres_only
def test_the_listener_reconnects_after_a_server_restart_and_waits_across_it_are_woken():
    from stack import REPO
    cluster_dir = os.environ.get("TODO_TEST_POSTGRES_DIR", "")
    assert cluster_dir, "TODO_TEST_POSTGRES_DIR must name the test server's directory (scripts/postgres-cluster.sh)"
    stack = Stack(processes=1, threads=4).start()
    cluster = [os.path.join(REPO, "scripts", "postgres-cluster.sh")]
    try:
        user, token = "reconnects", make_token("reconnects")
        cursor = cursor_now(stack, user, token)
        across = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=45", token)
        across.start()
        time.sleep(0.5)
        subprocess_run(cluster + ["stop", cluster_dir])
        time.sleep(1.5)
        subprocess_run(cluster + ["start", cluster_dir])
        # The listener retries every second; then health is back too.
        deadline = time.monotonic() + 15
        while stack.request("GET", "/health").status != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)
        assert across.result is None, across.result  # the outage ended no wait
        fresh = Waiter(stack, f"/api/{user}/tasks/changes?since={cursor}&wait=30", token)
        fresh.start()
        time.sleep(0.5)
        task = create(stack, user, token, "after the restart")
        written_at = time.monotonic()
        for waiter in (across, fresh):
            waiter.join(10)
            status, _, page, _ = waiter.result
            assert status == 200 and [t["id"] for t in page["tasks"]] == [task["id"]]
            assert waiter.answered_at - written_at < 1.0
        assert "listening connection to PostgreSQL was lost" in stack.log()
    finally:
        stack.stop()


def subprocess_run(command):
    import subprocess
    subprocess.run(command, check=True, timeout=60, capture_output=True)
