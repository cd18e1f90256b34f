"""/metrics through the shipped nginx configuration, read with Prometheus's own text parser:
exact increments after a known sequence of requests, totals over two worker processes, no
user data in the output, and nothing for addresses outside the allow-list."""
import http.client
import json
import os
import re
import signal
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stack import BACKEND, Stack, make_token, run_in_threads

USER = "zq-distinctive-user-4711"


@pytest.fixture(scope="module")
def two_processes():
    # The access log at info tells which process served what (the sanitizer runs default to notice).
    s = Stack(processes=2, threads=2, env={"TODO_LOG_LEVEL": "info"}).start()
    yield s
    s.stop()


def scrape(stack):
    response = stack.request("GET", "/metrics")
    assert response.status == 200, response.body
    assert response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    text = response.body.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_exact_increments_after_a_known_sequence(two_processes):
    stack = two_processes
    _, before = scrape(stack)
    token = make_token(USER)
    ids = [stack.request("POST", f"/api/{USER}/tasks", token, {"title": f"t{i}"}).json["id"] for i in range(3)]
    # Lists until both processes have served some: each process counts in its own slots, and only
    # their sum gives the exact figure below. The processes share one listening socket and the
    # kernel may hand every connection to the same one, so after a first round the process that
    # served it is stopped (SIGSTOP) while more clients than nginx keeps idle connections for
    # arrive: their new connections can only be accepted by the other; then it is resumed, and
    # the requests that waited on its kept connections complete.
    def served():
        return set(re.findall(r"todo-fcgi\[(\d+)\] info: GET /api/\{user_id\}/tasks 200", stack.log()))

    lists = 0
    for round in range(4):
        clients = 16 * (round + 1)
        statuses = []
        paused = [int(pid) for pid in served()] if round > 0 and len(served()) == 1 else []
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        try:
            resume = threading.Timer(1.5, lambda: [os.kill(pid, signal.SIGCONT) for pid in paused])
            resume.start()
            run_in_threads(lambda _: statuses.extend(stack.request("GET", f"/api/{USER}/tasks", token).status
                                                     for _ in range(5)), clients + 64 * bool(paused))
            resume.join()
        finally:
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
        clients += 64 * bool(paused)
        assert statuses == [200] * (clients * 5)
        lists += clients * 5
        if len(served()) == 2:
            break
    assert stack.request("GET", f"/api/{USER}/tasks/999999999", token).status == 404
    assert stack.request("GET", f"/api/{USER}/tasks").status == 401
    assert stack.request("GET", f"/api/{USER}/tasks", make_token(USER, lifetime=-600)).status == 401
    assert stack.request("GET", f"/api/{USER}/tasks", make_token(USER, secret="another-secret-of-at-least-32-bytes!!")).status == 401
    assert stack.request("GET", f"/api/{USER}/tasks", "not.a.token").status == 401
    assert stack.request("DELETE", f"/api/{USER}/tasks/{ids[0]}", token).status == 204
    text, after = scrape(stack)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    tasks = "/api/{user_id}/tasks"
    assert delta("todo_requests_total", method="POST", route=tasks, status="201") == 3
    assert delta("todo_requests_total", method="GET", route=tasks, status="200") == lists
    assert delta("todo_requests_total", method="GET", route=tasks, status="401") == 4
    assert delta("todo_requests_total", method="GET", route="/api/{user_id}/tasks/{id}", status="404") == 1
    assert delta("todo_requests_total", method="DELETE", route="/api/{user_id}/tasks/{id}", status="204") == 1
    for reason in ("missing_token", "expired", "bad_signature", "malformed"):
        assert delta("todo_auth_failures_total", reason=reason) == 1, reason
    assert delta("todo_auth_failures_total", reason="unknown_key_id") == 0
    assert delta("todo_writes_committed_total") == 4
    # A histogram's _count is the number of requests on its route.
    for route in (tasks, "/api/{user_id}/tasks/{id}"):
        requests = sum(v for (name, labels), v in after.items()
                       if name == "todo_requests_total" and dict(labels)["route"] == route)
        assert value(after, "todo_request_duration_seconds_count", route=route) == requests, route
        assert value(after, "todo_request_duration_seconds_bucket", route=route, le="+Inf") == requests
    # Two processes served these requests, and the numbers above are their totals.
    assert value(after, "todo_processes") == 2
    assert value(after, "todo_threads") == 4
    pids = set(re.findall(r"todo-fcgi\[(\d+)\] info: GET /api/\{user_id\}/tasks 200", stack.log()))
    assert len(pids) == 2, pids
    assert value(after, "todo_process_resident_memory_bytes") > 4 << 20
    assert value(after, "todo_process_open_fds") > 4
    # The SQLite file's size; a server database is measured by the server (pg_database_size).
    if BACKEND == "sqlite":
        assert value(after, "todo_database_bytes") > 0
    else:
        assert value(after, "todo_database_bytes") == 0
    assert value(after, "todo_build_info", version="0.1.0") == 1
    assert value(after, "todo_jwks_keys") == 0  # HS256 only here
    # Nothing about the user or their data, ever.
    assert USER not in text and token not in text and "t0" not in text.split()


def test_counters_survive_a_restart_of_the_workers(two_processes):
    stack = two_processes
    token = make_token(USER)
    stack.request("GET", f"/api/{USER}/tasks", token)
    _, before = scrape(stack)
    stack.stop_workers()
    stack.start_workers()
    stack.wait_healthy()
    deadline = time.time() + 10
    _, after = scrape(stack)
    while value(after, "todo_processes") < 2 and time.time() < deadline:  # the second one may still be starting
        time.sleep(0.1)
        _, after = scrape(stack)
    for (name, labels), number in before.items():
        if name.endswith("_total") or name.endswith("_count") or name.endswith("_bucket"):
            assert after.get((name, labels), 0) >= number, (name, labels)
    assert value(after, "todo_processes") == 2


def test_metrics_are_refused_to_other_addresses_with_the_apis_404(two_processes):
    connection = http.client.HTTPConnection("127.0.0.1", two_processes.port, timeout=10, source_address=("127.0.0.2", 0))
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read()
    assert response.status == 404
    assert json.loads(body) == {"detail": "No such route.", "code": "route_not_found"}
    assert b"todo_" not in body


def test_metrics_off_is_no_route():
    stack = Stack(processes=1, threads=2, env={"TODO_METRICS_FILE": "off"}).start()
    try:
        response = stack.request("GET", "/metrics")
        assert response.status == 404 and response.is_error("route_not_found")
    finally:
        stack.stop()
