"""Every error status of the contract, through the real stack, each with the JSON error shape."""
import json

from stack import make_token, SECRET


def test_404_unknown_routes_before_auth(stack):
    for path in ["/", "/nope", "/api/a/tasks/", "/api/a", "/docs", "/openapi.json", "/api/a/tasks/1/complete/"]:
        assert stack.request("GET", path).is_error("route_not_found"), path


def test_api_root_is_json_404_never_a_redirect(stack):
    for path in ("/api", "/api/", "/api?x=1"):
        response = stack.request("GET", path)
        assert response.status == 404 and response.is_error("route_not_found"), (path, response.status, response.body)
        assert response.header("Location") is None


def test_404_for_bad_or_missing_task_ids(stack, user, token):
    for task_id in ["0", "007", "%2B7", "-1", "abc", "9223372036854775808", "999999"]:
        response = stack.request("GET", f"/api/{user}/tasks/{task_id}", token)
        assert response.status == 404 and response.is_error("task_not_found"), task_id


def test_405_with_allow(stack):
    response = stack.request("DELETE", "/api/a/tasks")
    assert response.is_error("method_not_allowed") and response.status == 405
    assert response.header("Allow") == "GET, HEAD, POST"
    assert stack.request("GET", "/api/a/tasks/1/complete").header("Allow") == "PATCH"


def test_401_missing_token(stack, user):
    response = stack.request("GET", f"/api/{user}/tasks")
    assert response.status == 401 and response.is_error("missing_token")
    assert response.header("WWW-Authenticate") == "Bearer"


def test_401_invalid_tokens_with_rfc6750_challenge(stack, user):
    cases = {
        "wrong secret": make_token(user, secret="w" * 40),
        "expired": make_token(user, lifetime=-120),
        "alg none": make_token(user, header={"alg": "none"}),
        "HS512": make_token(user, header={"alg": "HS512"}),
        "future nbf": make_token(user, claims={"nbf": 9999999999}),
        "string exp": make_token(user, claims={"exp": "9999999999"}),
        "empty sub": make_token("", claims={}),
        "garbage": "a.b.c",
    }
    for name, token in cases.items():
        response = stack.request("GET", f"/api/{user}/tasks", token)
        assert response.status == 401 and response.is_error("invalid_token"), name
        assert response.header("WWW-Authenticate").startswith('Bearer error="invalid_token", error_description="'), name


def test_401_oversized_token(stack, user):
    response = stack.request("GET", f"/api/{user}/tasks", "a" * 9000)
    assert response.status == 401 and response.is_error("invalid_token")


def test_403_other_users_path(stack, user, token):
    for method, path in [("GET", "/api/someone-else/tasks"), ("POST", "/api/someone-else/tasks"),
                         ("GET", "/api/someone-else/tasks/1"), ("DELETE", "/api/someone-else/tasks/1")]:
        response = stack.request(method, path, token, {"title": "x"} if method == "POST" else None)
        assert response.status == 403 and response.is_error("forbidden"), (method, path)


def test_400_bad_bodies(stack, user, token):
    cases = [(b"{", "invalid_json"), (b"[]", "invalid_json"), (b'{"title":"a","title":"b"}', "invalid_json"),
             (b'{"title":"\\ud800"}', "invalid_json"), (b'{"title":"\xff"}', "invalid_json"),
             (b'{"title":""}', "validation_error"), (b'{"title":"x","completed":"yes"}', "validation_error"),
             (b'{"titel":"y"}', "validation_error"), (b'{"title":"' + b"a" * 201 + b'"}', "validation_error")]
    for body, code in cases:
        response = stack.request("POST", f"/api/{user}/tasks", token, body)
        assert response.status == 400 and response.is_error(code), body
    assert stack.request("GET", f"/api/{user}/tasks", token).json == []


def test_400_bad_query(stack, user, token):
    for query in ["limit=0", "limit=1001", "limit=ten", "sort=x", "limit=1&limit=2"]:
        assert stack.request("GET", f"/api/{user}/tasks?{query}", token).is_error("invalid_query"), query


def test_415_non_json_body(stack, user, token):
    response = stack.request("POST", f"/api/{user}/tasks", token, b'{"title":"x"}', content_type="text/plain")
    assert response.status == 415 and response.is_error("unsupported_media_type")


def test_64_kib_accepted_one_more_byte_413_from_nginx(stack, user, token):
    prefix = b'{"title":"big"'
    exact = prefix + b" " * (65536 - len(prefix) - 1) + b"}"
    assert len(exact) == 65536
    assert stack.request("POST", f"/api/{user}/tasks", token, exact).status == 201
    response = stack.request("POST", f"/api/{user}/tasks", token, exact + b" ")
    assert response.status == 413 and response.is_error("payload_too_large")


def test_chunked_body_is_read_whole(stack, user, token):
    body = b'{"title":"chunked"}'
    request = (f"POST /api/{user}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    request += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = stack.raw(request)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["title"] == "chunked"


def test_nginx_400_is_json(stack):
    answer = stack.raw(b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"detail": "The request could not be parsed.", "code": "bad_request"}


def test_path_tricks_never_reach_another_user(stack, user, token):
    victim = "victim-" + user
    victim_token = make_token(victim)
    task = stack.request("POST", f"/api/{victim}/tasks", victim_token, {"title": "secret"}).json
    for path in [f"/api/{user}/../{victim}/tasks", f"/api/{user}%2F..%2F{victim}/tasks", f"/api/{victim}%00/tasks",
                 f"/api/{user}/tasks/{task['id']}", f"/api/{user}/tasks/../../{victim}/tasks/{task['id']}",
                 f"/api/{user}/tasks/%zz", f"/api/{user}%ZZ/tasks"]:
        response = stack.request("GET", path, token)
        assert response.status in (400, 403, 404), (path, response.status)
        assert b"secret" not in response.body, path
    assert stack.request("GET", f"/api/{victim}/tasks/{task['id']}", victim_token).json == task


def test_header_injection_in_user_id_is_encoded(stack):
    user = "evil\r\nSet-Cookie: x=1"
    token = make_token(user)
    response = stack.request("POST", "/api/evil%0D%0ASet-Cookie:%20x=1/tasks", token, {"title": "x"})
    assert response.status == 201
    assert response.header("Set-Cookie") is None
    assert response.header("Location").startswith("/api/evil%0D%0ASet-Cookie%3A%20x%3D1/tasks/")


def test_secret_is_never_echoed(stack, user):
    response = stack.request("GET", f"/api/{user}/tasks", make_token(user, secret="q" * 40))
    assert SECRET.encode() not in response.body
