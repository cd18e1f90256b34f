"""The attack matrix, through nginx -> FastCGI -> todo-fcgi -> SQLite, one named test per attack.

Every case asserts the exact status and the JSON error shape, and the `victim` fixture checks
after each test that the other user's data is exactly as it was.
"""
import base64
import hashlib
import hmac
import json
import socket
import time

import pytest

from stack import SECRET, Stack, b64url, make_token
from better_auth import ed25519_key


@pytest.fixture(scope="module")
def attack_stack(tmp_path_factory):
    # Both modes on: HS256 with the secret, and an Ed25519 JWKS (for the key-confusion cases).
    private, x = ed25519_key()
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": x}]}))
    s = Stack(processes=2, threads=4, env={"BETTER_AUTH_JWKS_FILE": str(jwks)}).start()
    s.ed_private, s.ed_x = private, x
    yield s
    s.stop()


@pytest.fixture
def victim(attack_stack, request):
    """Another user's tasks, verified unchanged after the test."""
    name = "victim-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    token = make_token(name)
    for title in ["secret one", "secret two"]:
        assert attack_stack.request("POST", f"/api/{name}/tasks", token, {"title": title}).status == 201
    before = attack_stack.request("GET", f"/api/{name}/tasks", token).json
    yield name
    assert attack_stack.request("GET", f"/api/{name}/tasks", token).json == before


def raw_token(header, payload, key=SECRET.encode(), sign=True):
    head = header if isinstance(header, str) else json.dumps(header)
    body = payload if isinstance(payload, str) else json.dumps(payload)
    signing_input = b64url(head.encode()) + "." + b64url(body.encode())
    signature = b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if sign else ""
    return signing_input + "." + signature


def claims(sub="attacker", **extra):
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 600, **extra}


def assert_401(stack, token, user="attacker", description=None):
    response = stack.request("GET", f"/api/{user}/tasks", token)
    assert response.status == 401 and response.is_error("invalid_token"), response.body
    challenge = response.header("WWW-Authenticate")
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    if description:
        assert description in challenge, challenge
    return response


# --- tokens -----------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_token_alg_none(attack_stack, victim, alg):
    assert_401(attack_stack, raw_token({"alg": alg}, claims(), sign=False), description="not supported")
    assert_401(attack_stack, raw_token({"alg": alg}, claims(sub=victim), sign=False), user=victim)


def test_token_hs256_wrong_secret(attack_stack, victim):
    assert_401(attack_stack, raw_token({"alg": "HS256"}, claims(sub=victim), key=b"w" * 40), user=victim,
               description="signature does not match")


@pytest.mark.parametrize("alg,digest", [("HS384", hashlib.sha384), ("HS512", hashlib.sha512)])
def test_token_hs384_hs512_with_the_right_secret(attack_stack, victim, alg, digest):
    signing_input = b64url(json.dumps({"alg": alg}).encode()) + "." + b64url(json.dumps(claims(sub=victim)).encode())
    token = signing_input + "." + b64url(hmac.new(SECRET.encode(), signing_input.encode(), digest).digest())
    assert_401(attack_stack, token, user=victim, description="not supported")


@pytest.mark.parametrize("alg,length", [("RS256", 256), ("ES256", 64), ("EdDSA", 64), ("PS256", 256), ("ES512", 132)])
def test_token_asymmetric_forged_signature(attack_stack, victim, alg, length):
    signing_input = b64url(json.dumps({"alg": alg, "kid": "ed-1"}).encode()) + "." + b64url(json.dumps(claims(sub=victim)).encode())
    assert_401(attack_stack, signing_input + "." + b64url(b"\x01" * length), user=victim)


def test_token_hs256_signed_with_the_public_key_bytes(attack_stack, victim):
    public = base64.urlsafe_b64decode(attack_stack.ed_x + "=")
    for key in [public, attack_stack.ed_x.encode()]:
        assert_401(attack_stack, raw_token({"alg": "HS256", "kid": "ed-1"}, claims(sub=victim), key=key), user=victim,
                   description="signature does not match")


@pytest.mark.parametrize("kid", ["../../../../etc/passwd", "' OR '1'='1", "ed-1'; DROP TABLE tasks; --", "/dev/null", "", "\u0000"])
def test_token_kid_injection(attack_stack, victim, kid):
    signing_input = b64url(json.dumps({"alg": "EdDSA", "kid": kid}).encode()) + "." + b64url(json.dumps(claims(sub=victim)).encode())
    token = signing_input + "." + b64url(attack_stack.ed_private.sign(signing_input.encode()))
    assert_401(attack_stack, token, user=victim)


@pytest.mark.parametrize("member,value", [("jku", "http://127.0.0.1:9/jwks"), ("jwk", {"kty": "oct", "k": "AAAA"}),
                                          ("x5u", "http://127.0.0.1:9/cert"), ("x5c", ["MIIB"]), ("crit", ["exp"])])
def test_token_key_reference_headers(attack_stack, victim, member, value):
    assert_401(attack_stack, raw_token({"alg": "HS256", member: value}, claims(sub=victim)), user=victim,
               description=f"member {member} is not supported")


def test_token_duplicate_json_keys(attack_stack, victim):
    assert_401(attack_stack, raw_token('{"alg":"none","alg":"HS256"}', claims(sub=victim)), user=victim,
               description="header is not valid JSON")
    now = int(time.time())
    payload = '{"sub":"attacker","sub":"%s","exp":%d}' % (victim, now + 600)
    assert_401(attack_stack, raw_token({"alg": "HS256"}, payload), user=victim, description="payload is not valid JSON")


def test_token_non_canonical_base64url(attack_stack):
    token = make_token("attacker")
    head, body, sig = token.split(".")
    for variant in [head + "=." + body + "." + sig, head + "." + body + "." + sig + "=",
                    head + "." + body + "." + sig.replace("-", "+").replace("_", "/") + ("" if ("-" in sig or "_" in sig) else "+"),
                    head + "." + body + " ." + sig]:
        assert_401(attack_stack, variant)
    # Trailing bits: the last character of a 32-byte signature carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    assert_401(attack_stack, head + "." + body + "." + sig[:-1] + alphabet[last | 1], description="canonical")


@pytest.mark.parametrize("segments", [2, 4])
def test_token_wrong_segment_count(attack_stack, segments):
    parts = make_token("attacker").split(".")
    token = ".".join(parts[:2]) if segments == 2 else ".".join(parts + ["extra"])
    assert_401(attack_stack, token, description="three dot-separated segments")


@pytest.mark.parametrize("extra,description", [
    ({"exp": 1}, "token expired"),
    ({"nbf": 9_999_999_999}, "not valid yet"),
    ({"iat": 9_999_999_999}, "issued in the future"),
    ({"exp": "9999999999"}, "exp claim must be a number"),
])
def test_token_time_claims(attack_stack, extra, description):
    assert_401(attack_stack, raw_token({"alg": "HS256"}, claims(**extra)), description=description)


@pytest.mark.parametrize("sub", ["", [], {}, ["attacker"], 7, None])
def test_token_bad_subject(attack_stack, sub):
    assert_401(attack_stack, raw_token({"alg": "HS256"}, claims(sub=sub)), description="sub claim")


def test_token_over_8_kib(attack_stack):
    token = raw_token({"alg": "HS256"}, claims(padding="p" * 8200))
    assert_401(attack_stack, token, description="longer than 8192 bytes")


def test_token_for_a_replayed_on_b(attack_stack, victim):
    token = make_token("attacker")
    for method, path in [("GET", f"/api/{victim}/tasks"), ("POST", f"/api/{victim}/tasks"), ("GET", f"/api/{victim}/tasks/1"),
                         ("PUT", f"/api/{victim}/tasks/1"), ("DELETE", f"/api/{victim}/tasks/1"),
                         ("PATCH", f"/api/{victim}/tasks/1/complete")]:
        response = attack_stack.request(method, path, token, {"title": "pwned"} if method in ("POST", "PUT") else None)
        assert response.status == 403 and response.is_error("forbidden"), (method, path)


# --- requests ---------------------------------------------------------------------------------

SQL = ["' OR '1'='1", "'; DROP TABLE tasks; --", "\" OR 1=1 --", "1; DELETE FROM tasks", "%' UNION SELECT * FROM tasks --"]


@pytest.mark.parametrize("payload", SQL)
def test_sql_injection_in_fields_is_stored_verbatim(attack_stack, victim, payload):
    token = make_token("attacker")
    created = attack_stack.request("POST", "/api/attacker/tasks", token, {"title": payload, "description": payload})
    assert created.status == 201
    stored = attack_stack.request("GET", created.header("Location"), token).json
    assert stored["title"] == payload.strip() and stored["description"] == payload


@pytest.mark.parametrize("payload", SQL)
def test_sql_injection_in_path_and_query(attack_stack, victim, payload):
    token = make_token("attacker")
    from urllib.parse import quote
    assert attack_stack.request("GET", f"/api/{quote(payload, safe='')}/tasks", token).is_error("forbidden")
    assert attack_stack.request("GET", f"/api/attacker/tasks/{quote(payload, safe='')}", token).is_error("task_not_found")
    for name in ["status", "sort", "order", "limit", "offset"]:
        assert attack_stack.request("GET", f"/api/attacker/tasks?{name}={quote(payload)}", token).is_error("invalid_query")
    # The SQL-looking user id is just an id: its owner can use it.
    owner = make_token(payload)
    assert attack_stack.request("POST", f"/api/{quote(payload, safe='')}/tasks", owner, {"title": "x"}).status == 201


@pytest.mark.parametrize("path,status,code", [
    ("/api/attacker%00/tasks", 400, "bad_request"),             # nginx refuses NUL in the URI
    ("/api/attacker%2Fvictim/tasks", 403, "forbidden"),          # %2F stays inside the id
    ("/api/attacker/../victim/tasks", 404, "route_not_found"),
    ("/api/attacker/tasks/..%2F..%2Fvictim", 404, "task_not_found"),
    ("/api/%C0%AFattacker/tasks", 403, "forbidden"),             # overlong UTF-8 is bytes, never "/"
    ("/api/attacker%zz/tasks", 400, "bad_request"),             # invalid escapes: nginx refuses them
    ("/api/attacker/tasks/%", 400, "bad_request"),              # (the worker would answer 404)
])
def test_path_tricks(attack_stack, victim, path, status, code):
    response = attack_stack.request("GET", path.replace("victim", victim), make_token("attacker"))
    assert response.status == status and response.is_error(code), (path, response.status, response.body)


def test_crlf_never_reaches_response_headers(attack_stack):
    user = "a\r\nX-Injected: 1"
    token = make_token(user)
    response = attack_stack.request("POST", "/api/a%0D%0AX-Injected:%201/tasks", token, {"title": "x\r\nX-Also: 1"})
    assert response.status == 201
    assert response.header("X-Injected") is None and response.header("X-Also") is None
    assert "\r" not in response.header("Location") and "\n" not in response.header("Location")


def test_deeply_nested_json(attack_stack):
    body = b'{"title":"x","description":' + b"[" * 33 + b"]" * 33 + b"}"
    response = attack_stack.request("POST", "/api/attacker/tasks", make_token("attacker"), body)
    assert response.status == 400 and response.is_error("invalid_json")
    assert b"deeper than 32" in response.body


def test_ten_thousand_keys(attack_stack):
    # 10,000 distinct keys do not fit in 64 KiB: nginx refuses them; 6,000 reach the worker.
    body = ("{" + ",".join(f'"k{i}":0' for i in range(10_000)) + "}").encode()
    response = attack_stack.request("POST", "/api/attacker/tasks", make_token("attacker"), body)
    assert response.status == 413 and response.is_error("payload_too_large")
    body = ("{" + ",".join(f'"{i:x}":0' for i in range(6_000)) + "}").encode()
    assert len(body) < 65536
    response = attack_stack.request("POST", "/api/attacker/tasks", make_token("attacker"), body)
    # Unknown fields are ignored (v2 §0): what is missing is the title.
    assert response.status == 400 and response.is_error("validation_error")


def test_huge_numbers(attack_stack):
    for body in [b'{"title":"x","completed":1e999}', b'{"title":1e999}', b'{"title":"x","id":-1e999}']:
        response = attack_stack.request("POST", "/api/attacker/tasks", make_token("attacker"), body)
        assert response.status == 400 and response.is_error("invalid_json"), body


def test_body_larger_than_announced(attack_stack):
    token = make_token("attacker")
    request = (f"POST /api/attacker/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Content-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"
               '{"title":"a"}{"title":"smuggled"}').encode()
    answer = attack_stack.raw(request)
    # nginx reads exactly Content-Length bytes; the rest is a second (garbage) request it refuses.
    assert answer.startswith(b"HTTP/1.1 201")
    assert b"smuggled" not in answer.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0]


def test_chunked_body_over_the_limit(attack_stack):
    token = make_token("attacker")
    chunk = b"x" * 40000
    request = (f"POST /api/attacker/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    request += b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk, len(chunk), chunk)
    answer = attack_stack.raw(request)
    assert answer.startswith(b"HTTP/1.1 413")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "payload_too_large"


def test_slow_clients_hold_no_worker_thread(attack_stack):
    """Ten clients trickle a body; nginx buffers them, so the workers (2 x 4 threads) stay free."""
    token = make_token("attacker")
    slow = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", attack_stack.port), timeout=30)
        s.sendall((f"POST /api/attacker/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ti").encode())
        slow.append(s)
    try:
        started = time.time()
        for _ in range(20):
            assert attack_stack.request("GET", "/api/attacker/tasks?limit=1", token).status == 200
        assert time.time() - started < 5
        # nginx drops the stalled ones itself after client_body_timeout (10 s); no worker saw them.
        slow[0].settimeout(20)
        answer = slow[0].recv(65536)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]
    finally:
        for s in slow:
            s.close()
