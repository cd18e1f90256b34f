"""Prometheus as operators run it (Debian's `prometheus` package): the shipped rules file passes
`promtool check rules` and its unit tests, a real scrape of /metrics through nginx passes
`promtool check metrics`, and a real Prometheus server scraping the stack through nginx, with the
rules loaded, counts exactly the traffic sent (docs/OPERATIONS.md, "Metrics")."""
import json
import re
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from stack import REPO, Stack, free_port, make_token

pytestmark = pytest.mark.single_backend

RULES = os.path.join(REPO, "docs", "prometheus-rules.yml")
RULE_TESTS = os.path.join(REPO, "docs", "prometheus-rules.test.yml")


def tool(name):
    """`promtool` or `prometheus`, installed with Debian's package when missing."""
    if shutil.which(name) is None:
        subprocess.run([os.path.join(REPO, "scripts", "install-deps.sh"), "prometheus"], check=True, timeout=600)
    return shutil.which(name)


def test_the_rules_file_passes_promtool_and_its_unit_tests():
    checked = subprocess.run([tool("promtool"), "check", "rules", RULES], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    tested = subprocess.run([tool("promtool"), "test", "rules", RULE_TESTS], capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_a_scrape_through_nginx_passes_promtool_check_metrics(stack):
    token = make_token("prometheus-lint")
    assert stack.request("POST", "/api/prometheus-lint/tasks", token, {"title": "one"}).status == 201
    assert stack.request("GET", "/api/prometheus-lint/tasks", "not-a-token").status == 401
    scraped = stack.request("GET", "/metrics")
    assert scraped.status == 200 and b"todo_requests_total{" in scraped.body
    linted = subprocess.run([tool("promtool"), "check", "metrics"], input=scraped.body, capture_output=True, timeout=60)
    assert linted.returncode == 0, linted.stdout.decode() + linted.stderr.decode()
    assert linted.stdout.strip() == b"" and linted.stderr.strip() == b""


# Straight to loopback, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(port, path):
    with OPENER.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def query(port, expression):
    answer = get_json(port, "/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def eventually(check, timeout=45):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_a_real_prometheus_scrapes_through_nginx_and_counts_the_traffic_sent(tmp_path):
    stack = Stack(processes=2, threads=2).start()
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{RULES}]
scrape_configs:
  - job_name: todo-fcgi
    metrics_path: /metrics
    static_configs: [{{targets: ["127.0.0.1:{stack.port}"]}}]
""")
    server = subprocess.Popen([tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                               f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
    try:
        def ready():
            try:
                with OPENER.open(f"http://127.0.0.1:{port}/-/ready", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return server.poll() is not None  # exited: stop waiting, the assertion below says so
        assert eventually(ready, timeout=60) and server.poll() is None, open(tmp_path / "prometheus.log").read()[-2000:]
        user, token = "prometheus-user", make_token("prometheus-user")
        sent = {"200": 37, "404": 5, "201": 3}
        for _ in range(sent["201"]):
            assert stack.request("POST", f"/api/{user}/tasks", token, {"title": "scraped"}).status == 201
        for _ in range(sent["200"]):
            assert stack.request("GET", f"/api/{user}/tasks", token).status == 200
        for _ in range(sent["404"]):
            assert stack.request("GET", f"/api/{user}/tasks/999999", token).status == 404

        def counted():
            found = {}
            for sample in query(port, 'sum by (method, route, status) (todo_requests_total{route=~"/api/.*"})'):
                labels = sample["metric"]
                found[(labels["method"], labels["route"], labels["status"])] = float(sample["value"][1])
            expected = {("POST", "/api/{user_id}/tasks", "201"): sent["201"], ("GET", "/api/{user_id}/tasks", "200"): sent["200"],
                        ("GET", "/api/{user_id}/tasks/{id}", "404"): sent["404"]}
            return found if found == expected else None
        assert eventually(counted), query(port, "todo_requests_total")
        assert [float(s["value"][1]) for s in query(port, 'up{job="todo-fcgi"}')] == [1.0]

        # Every rule the file holds (a record or an alert per entry), loaded and evaluated.
        in_file = len(re.findall(r"^\s+- (?:record|alert):", open(os.path.join(REPO, "docs", "prometheus-rules.yml")).read(), re.M))

        def rules_healthy():
            groups = get_json(port, "/api/v1/rules")["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if len(rules) == in_file and all(rule["health"] == "ok" for rule in rules) else None
        assert eventually(rules_healthy), "the rules did not all evaluate cleanly"
        # A recording rule over the real series: the per-route rate exists for the routes used.
        routes = eventually(lambda: {s["metric"]["route"] for s in query(port, 'job_route:todo_requests:rate5m{job="todo-fcgi"}')}
                            >= {"/api/{user_id}/tasks", "/api/{user_id}/tasks/{id}"})
        assert routes
        assert query(port, 'ALERTS{alertstate="firing"}') == []
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        stack.stop()
