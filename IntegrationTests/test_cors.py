"""CORS on the answers nginx gives itself (413, 429, 502, 405, 400, 404, 431): an allowed browser
origin gets the same Access-Control-* headers as on the worker's answers, from the same
TODO_CORS_ORIGINS, so a web app can read "too large" or "rate limited"; other origins get none."""

import pytest

from stack import Stack, make_token

APP = "https://app.example.com"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def cors_stack():
    s = Stack(processes=1, threads=2, rate_limit=2,
              env={"TODO_CORS_ORIGINS": f"http://localhost:3000, {APP}", "TODO_LOG_LEVEL": "info"}).start()
    yield s
    s.stop()


def assert_cors(response, origin):
    assert response.header("Access-Control-Allow-Origin") == origin, response.headers
    assert response.header("Access-Control-Expose-Headers") == "Location, X-Total-Count, Retry-After, ETag, Idempotent-Replayed, X-Request-ID, X-Consistency-Token"
    assert response.header("X-Request-ID")
    assert "Origin" in response.header("Vary")
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Cache-Control") == "no-store"
    assert response.header("Content-Type") == "application/json"


def assert_no_cors(response):
    assert response.header("Access-Control-Allow-Origin") is None
    assert response.header("Access-Control-Expose-Headers") is None
    assert "Origin" in response.header("Vary")  # the answer depends on Origin: caches must know


def test_nginx_413_429_405_404_carry_cors_for_an_allowed_origin_only(cors_stack):
    token = make_token("cors")
    big = cors_stack.request("POST", "/api/cors/tasks", token, b"x" * 70000, headers={"Origin": APP})
    assert big.status == 413 and big.is_error("payload_too_large")
    assert_cors(big, APP)
    assert_no_cors(cors_stack.request("POST", "/api/cors/tasks", token, b"x" * 70000, headers={"Origin": EVIL}))

    trace = cors_stack.request("TRACE", "/api/cors/tasks", headers={"Origin": APP})
    assert trace.status == 405 and trace.header("Allow") == "GET, HEAD, POST"
    assert_cors(trace, APP)

    for path in ("/", "/api", "/api/", "/nothing/here"):
        missing = cors_stack.request("GET", path, headers={"Origin": "http://localhost:3000"})
        assert missing.status == 404 and missing.is_error("route_not_found"), path
        assert_cors(missing, "http://localhost:3000")

    statuses = []
    for _ in range(40):
        response = cors_stack.request("GET", "/api/cors/tasks", token, headers={"Origin": APP})
        statuses.append(response.status)
        if response.status == 429:
            assert response.is_error("rate_limited") and response.header("Retry-After") == "1"
            assert_cors(response, APP)
            break
    assert statuses[0] == 200 and statuses[-1] == 429, statuses
    denied = cors_stack.request("GET", "/api/cors/tasks", token, headers={"Origin": EVIL})
    assert denied.status == 429
    assert_no_cors(denied)


def test_nginx_400_and_431_carry_cors(cors_stack):
    def raw(headers):
        reply = cors_stack.raw(b"GET /api/cors/tasks HTTP/1.1\r\nHost: localhost\r\nOrigin: " + APP.encode()
                               + b"\r\n" + headers + b"Connection: close\r\n\r\n")
        head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
        return head
    bad = raw(b"Content-Length: 5\r\nContent-Length: 6\r\n")  # a duplicate Content-Length is refused
    assert bad.startswith("http/1.1 400") and f"access-control-allow-origin: {APP}" in bad, bad
    huge = raw(b"X-Filler: " + b"a" * 20000 + b"\r\n")
    assert huge.startswith("http/1.1 431") and f"access-control-allow-origin: {APP}" in huge, huge


def test_nginx_502_carries_cors_while_the_workers_are_down(cors_stack):
    cors_stack.stop_workers()
    try:
        response = cors_stack.request("GET", "/api/cors/tasks", make_token("cors"), headers={"Origin": APP})
        assert response.status == 502 and response.is_error("bad_gateway")
        assert_cors(response, APP)
    finally:
        cors_stack.start_workers()
        cors_stack.wait_healthy()


def test_without_cors_origins_nginx_adds_no_cors_headers():
    stack = Stack(processes=1, threads=2).start()
    try:
        response = stack.request("GET", "/", headers={"Origin": APP})
        assert response.status == 404
        assert response.header("Access-Control-Allow-Origin") is None and response.header("Vary") is None
    finally:
        stack.stop()


# --- contract §12: preflight everywhere, request ids ------------------------------------------

PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"}


def test_a_preflight_is_answered_on_every_api_path_routed_or_not(cors_stack):
    """Before: a preflight on `/api` or a path without a route was 404, and for a method the path
    does not allow it listed only the path's methods: the page could not read the 404 or 405."""
    for path in ("/api", "/api/", "/api/cors/nothing", "/api/cors/tasks", "/api/cors/tasks/1/complete", "/health"):
        response = cors_stack.request("OPTIONS", path, headers=PREFLIGHT)
        assert response.status == 204, path
        assert response.header("Access-Control-Allow-Origin") == APP
        assert response.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE", path
        assert response.header("Access-Control-Allow-Headers") == \
            "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID, X-Consistency-Token"
        assert response.header("Access-Control-Max-Age") == "600" and response.header("X-Request-ID")
    # The requests that follow get their 404 and 405, with the CORS headers a page needs to read them.
    missing = cors_stack.request("GET", "/api/cors/nothing", make_token("cors"), headers={"Origin": APP})
    assert missing.is_error("route_not_found")
    assert_cors(missing, APP)
    refused = cors_stack.request("DELETE", "/api/cors/tasks/1/complete", make_token("cors"), headers={"Origin": APP})
    assert refused.is_error("method_not_allowed") and refused.header("Allow") == "PATCH"
    assert_cors(refused, APP)
    # Another origin's preflight still gets no CORS headers.
    for path in ("/api", "/api/cors/nothing"):
        other = cors_stack.request("OPTIONS", path, headers=dict(PREFLIGHT, Origin=EVIL))
        assert other.status == 404 and other.header("Access-Control-Allow-Origin") is None, path


def test_every_response_carries_a_request_id_the_worker_logs(cors_stack):
    import re
    answers = {
        "worker": cors_stack.request("GET", "/api/cors/tasks", make_token("cors")),
        "worker error": cors_stack.request("GET", "/api/cors/tasks/999", make_token("cors")),
        "nginx 404": cors_stack.request("GET", "/nothing/here"),
        "nginx 405": cors_stack.request("TRACE", "/api/cors/tasks"),
        "nginx 413": cors_stack.request("POST", "/api/cors/tasks", make_token("cors"), b"x" * 70000),
        "nginx /api": cors_stack.request("GET", "/api"),
    }
    for name, response in answers.items():
        assert re.fullmatch(r"[0-9a-f]{32}", response.header("X-Request-ID") or ""), (name, response.headers)
    assert len({response.header("X-Request-ID") for response in answers.values()}) == len(answers)
    # A client's own id, when it keeps the rule, is used instead, and the worker's log line has it.
    mine = "trace-" + "A1._-" * 20
    import time
    time.sleep(1.5)  # this stack limits each client to 2 requests a second (bursts of 20)
    echoed = cors_stack.request("GET", "/api/cors/tasks", make_token("cors"), headers={"X-Request-ID": mine})
    assert echoed.status == 200 and echoed.header("X-Request-ID") == mine
    deadline = time.time() + 5  # the worker logs a request after answering it
    while f" id={mine}\n" not in cors_stack.log() and time.time() < deadline:
        time.sleep(0.05)
    assert f" id={mine}\n" in cors_stack.log()
    nginx_own = cors_stack.request("GET", "/nothing", headers={"X-Request-ID": mine})
    assert nginx_own.header("X-Request-ID") == mine
    # One that breaks it (too long, or another character) is replaced by nginx's own.
    for bad in ("x" * 129, "has space", "semi;colon", "ünï"):
        replaced = cors_stack.request("GET", "/api/cors/tasks", make_token("cors"), headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.header("X-Request-ID")), bad
    assert "x" * 128 == cors_stack.request("GET", "/health", headers={"X-Request-ID": "x" * 128}).header("X-Request-ID")
