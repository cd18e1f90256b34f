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
              env={"TODO_CORS_ORIGINS": f"http://localhost:3000, {APP}"}).start()
    yield s
    s.stop()


def assert_cors(response, origin):
    assert response.header("Access-Control-Allow-Origin") == origin, response.headers
    assert response.header("Access-Control-Expose-Headers") == "Location, X-Total-Count, Retry-After, ETag, Idempotent-Replayed"
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
