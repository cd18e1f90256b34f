"""Better Auth's asymmetric tokens through nginx: a JWKS endpoint on loopback that rotates keys.

Tokens and keys are made here with the `cryptography` package (or, without it, with
`todo-fcgi keygen` / `token --key`), independently of the worker's own signing code.
"""
import base64
import json
import os
import signal
import subprocess
import time

import pytest

from better_auth import JWKSServer, better_auth_token, ed25519_key
from stack import BINARY, SECRET, Stack, b64url, make_token


@pytest.fixture
def jwks():
    server = JWKSServer()
    yield server
    server.stop()


def test_unmodified_better_auth_token_with_only_better_auth_url(jwks):
    private, x = ed25519_key()
    jwks.publish(("key-1", x))
    stack = Stack(processes=1, threads=4, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url}).start()
    try:
        token = better_auth_token(private, "key-1", "ada", jwks.url)
        created = stack.request("POST", "/api/ada/tasks", token, {"title": "from Better Auth"})
        assert created.status == 201, created.body
        assert stack.request("GET", "/api/ada/tasks", token).json[0]["title"] == "from Better Auth"
        # Wrong audience, expired, unknown kid, HS256 without a secret: specific 401s.
        wrong_aud = better_auth_token(private, "key-1", "ada", "http://evil.example")
        response = stack.request("GET", "/api/ada/tasks", wrong_aud)
        assert response.is_error("invalid_token")
        assert "issuer mismatch" in response.header("WWW-Authenticate")
        expired = better_auth_token(private, "key-1", "ada", jwks.url, lifetime=-300)
        assert 'error_description="token expired"' in stack.request("GET", "/api/ada/tasks", expired).header("WWW-Authenticate")
        stranger = better_auth_token(private, "key-unknown", "ada", jwks.url)
        assert 'error_description="unknown key id"' in stack.request("GET", "/api/ada/tasks", stranger).header("WWW-Authenticate")
        hs = make_token("ada", claims={"iss": jwks.url, "aud": jwks.url})
        assert "no shared secret" in stack.request("GET", "/api/ada/tasks", hs).header("WWW-Authenticate")
    finally:
        stack.stop()


def test_key_rotation_and_a_failing_endpoint(jwks):
    old_private, old_x = ed25519_key()
    new_private, new_x = ed25519_key()
    jwks.publish(("old", old_x))
    stack = Stack(processes=1, threads=4, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url,
                                               "JWKS_REFRESH_INTERVAL": "1"}).start()
    try:
        old_token = better_auth_token(old_private, "old", "rot", jwks.url)
        assert stack.request("GET", "/api/rot/tasks", old_token).status == 200
        # Rotation: the new key is published, the old one kept for a grace period.
        jwks.publish(("new", new_x), ("old", old_x))
        time.sleep(1.1)
        new_token = better_auth_token(new_private, "new", "rot", jwks.url)
        assert stack.request("GET", "/api/rot/tasks", new_token).status == 200
        assert stack.request("GET", "/api/rot/tasks", old_token).status == 200
        # The endpoint goes down: known keys keep working, unknown ones are 401, nothing 5xx.
        jwks.broken = True
        time.sleep(1.1)
        unknown = better_auth_token(new_private, "newer", "rot", jwks.url)
        assert stack.request("GET", "/api/rot/tasks", unknown).is_error("invalid_token")
        hits = jwks.hits
        for _ in range(5):
            assert stack.request("GET", "/api/rot/tasks", unknown).status == 401
        assert jwks.hits == hits  # at most one refetch per interval
        assert stack.request("GET", "/api/rot/tasks", new_token).status == 200
        assert stack.request("GET", "/api/rot/tasks", old_token).status == 200
    finally:
        stack.stop()


@pytest.mark.single_backend
def test_keygen_token_and_check_with_a_jwks_file(tmp_path):
    private_path, jwks_path = tmp_path / "private.jwk", tmp_path / "jwks.json"
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_JWKS_FILE": str(jwks_path), "BETTER_AUTH_URL": "http://localhost:3000",
           "TODO_DATABASE": str(tmp_path / "t.db")}
    keygen = subprocess.run([BINARY, "keygen", "--private-key", str(private_path), "--jwks", str(jwks_path), "--kid", "dev-key"],
                            env=env, capture_output=True, text=True)
    assert keygen.returncode == 0, keygen.stderr
    assert oct(os.stat(private_path).st_mode & 0o777) == "0o600"
    published = json.loads(jwks_path.read_text())["keys"]
    assert published[0]["kid"] == "dev-key" and published[0]["crv"] == "Ed25519" and "d" not in published[0]
    check = subprocess.run([BINARY, "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "JWKS ok" in check.stdout and "dev-key (Ed25519, EdDSA)" in check.stdout
    token = subprocess.run([BINARY, "token", "--sub", "dev", "--key", str(private_path)], env=env,
                           capture_output=True, text=True).stdout.strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": "dev-key"}
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_JWKS_FILE": str(jwks_path),
                                               "BETTER_AUTH_URL": "http://localhost:3000"}).start()
    try:
        assert stack.request("POST", "/api/dev/tasks", token, {"title": "signed by keygen's key"}).status == 201
        # Both modes at once is allowed; here HS256 is off, so an HS256 token is refused.
        assert stack.request("GET", "/api/dev/tasks", make_token("dev", secret=SECRET)).status == 401
    finally:
        stack.stop()


@pytest.mark.single_backend
def test_check_reports_an_unreachable_jwks(tmp_path):
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_JWKS_URL": "http://127.0.0.1:9/jwks", "TODO_DATABASE": str(tmp_path / "t.db")}
    check = subprocess.run([BINARY, "check"], env=env, capture_output=True, text=True, timeout=30)
    assert check.returncode == 1
    assert "JWKS failed" in check.stdout


def test_every_algorithm_signed_by_an_independent_library(tmp_path):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    def number(value, length=None):
        length = length or (value.bit_length() + 7) // 8
        return b64url(value.to_bytes(length, "big"))

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_public = rsa_key.public_key().public_numbers()
    p256, p521 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP521R1())
    ed_private, ed_x = ed25519_key()
    keys = [
        {"kty": "RSA", "kid": "rsa", "n": number(rsa_public.n), "e": number(rsa_public.e)},
        {"kty": "EC", "crv": "P-256", "kid": "p256", "x": number(p256.public_key().public_numbers().x, 32),
         "y": number(p256.public_key().public_numbers().y, 32)},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": number(p521.public_key().public_numbers().x, 66),
         "y": number(p521.public_key().public_numbers().y, 66)},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": ed_x},
    ]
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(json.dumps({"keys": keys}))

    def raw_ecdsa(der, length):
        r, s = decode_dss_signature(der)
        return r.to_bytes(length, "big") + s.to_bytes(length, "big")

    signers = {
        "RS256": ("rsa", lambda m: rsa_key.sign(m, padding.PKCS1v15(), hashes.SHA256())),
        "PS256": ("rsa", lambda m: rsa_key.sign(m, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())),
        "ES256": ("p256", lambda m: raw_ecdsa(p256.sign(m, ec.ECDSA(hashes.SHA256())), 32)),
        "ES512": ("p521", lambda m: raw_ecdsa(p521.sign(m, ec.ECDSA(hashes.SHA512())), 66)),
        "EdDSA": ("ed", ed_private.sign),
        "Ed25519": ("ed", ed_private.sign),
    }
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_JWKS_FILE": str(jwks_path)}).start()
    try:
        now = int(time.time())
        for alg, (kid, sign) in signers.items():
            signing_input = (b64url(json.dumps({"alg": alg, "kid": kid}).encode()) + "." +
                             b64url(json.dumps({"sub": "multi", "iat": now, "exp": now + 600}).encode()))
            token = signing_input + "." + b64url(sign(signing_input.encode()))
            assert stack.request("GET", "/api/multi/tasks", token).status == 200, alg
            # Presented under another key (the algorithm does not fit it): refused.
            other = "ed" if kid != "ed" else "rsa"
            swapped = b64url(json.dumps({"alg": alg, "kid": other}).encode()) + "." + signing_input.split(".")[1]
            forged = swapped + "." + b64url(sign(swapped.encode()))
            response = stack.request("GET", "/api/multi/tasks", forged)
            assert response.status == 401 and "does not match its key" in response.header("WWW-Authenticate"), alg
    finally:
        stack.stop()


def test_sighup_during_a_jwks_outage_keeps_the_loaded_keys(jwks):
    private, x = ed25519_key()
    jwks.publish(("key-1", x))
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url}).start()
    try:
        token = better_auth_token(private, "key-1", "hup", jwks.url)
        assert stack.request("GET", "/api/hup/tasks", token).status == 200
        jwks.broken = True
        os.kill(stack.worker_pids[0], signal.SIGHUP)
        time.sleep(0.5)
        # A fresh token (not in any thread's verified-token cache) still verifies.
        fresh = better_auth_token(private, "key-1", "hup", jwks.url, lifetime=600)
        response = stack.request("GET", "/api/hup/tasks", fresh)
        assert response.status == 200, response.body
    finally:
        stack.stop()


@pytest.mark.single_backend
def test_plain_http_jwks_urls_to_other_hosts_are_refused(tmp_path):
    env = {"PATH": os.environ["PATH"], "BETTER_AUTH_SECRET": "", "TODO_DATABASE": str(tmp_path / "x.db")}
    for variables in ({"BETTER_AUTH_JWKS_URL": "http://auth.example.com/api/auth/jwks"},
                      {"BETTER_AUTH_URL": "http://auth.example.com"},
                      {"BETTER_AUTH_JWKS_URL": "http://localhost.evil.example/jwks"},
                      {"BETTER_AUTH_JWKS_URL": "http://127.0.0.1@evil.example/jwks"},
                      {"BETTER_AUTH_JWKS_URL": "http://128.0.0.1/jwks"},
                      {"BETTER_AUTH_JWKS_URL": "http://[::2]/jwks"},
                      {"BETTER_AUTH_JWKS_URL": "ftp://127.0.0.1/jwks"}):
        for command in ("check", "serve"):
            result = subprocess.run([BINARY, command, "--listen", str(tmp_path / "s.sock")] if command == "serve"
                                    else [BINARY, command], env=dict(env, **variables),
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 2, (variables, command, result.stderr)
            assert result.stderr.count("\n") == 1 and "https" in result.stderr, result.stderr
    # Loopback over http is Better Auth in development: accepted (the fetch itself fails here: exit 1).
    for url in ("http://127.0.0.1:9/jwks", "http://127.8.9.10:9/jwks", "http://localhost:9/jwks",
                "http://[::1]:9/jwks", "http://[0:0:0:0:0:0:0:1]:9/jwks"):
        result = subprocess.run([BINARY, "check"], env=dict(env, BETTER_AUTH_JWKS_URL=url),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 1, (url, result.stderr, result.stdout)


@pytest.mark.parametrize("freshness", [{"JWKS_MAX_AGE": "1"}, {"Cache-Control": "public, max-age=1"}],
                         ids=["JWKS_MAX_AGE", "Cache-Control"])
def test_a_key_removed_from_the_jwks_stops_verifying_new_tokens(jwks, freshness):
    retired_private, retired_x = ed25519_key()
    current_private, current_x = ed25519_key()
    jwks.publish(("retired", retired_x), ("current", current_x))
    jwks.cache_control = freshness.get("Cache-Control")
    env = {"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url}
    env.update({k: v for k, v in freshness.items() if k.startswith("JWKS")})
    stack = Stack(processes=2, threads=2, env=env).start()
    try:
        assert stack.request("GET", "/api/ret/tasks", better_auth_token(retired_private, "retired", "ret", jwks.url)).status == 200
        # Better Auth removes the key (a leaked or retired one). No token names an unknown kid:
        # the attacker keeps using the one that was removed.
        jwks.publish(("current", current_x))
        time.sleep(2.5)
        for lifetime in (600, 601, 602, 603):  # fresh tokens, in no thread's verified-token cache
            response = stack.request("GET", "/api/ret/tasks", better_auth_token(retired_private, "retired", "ret", jwks.url, lifetime))
            assert response.status == 401 and 'error_description="unknown key id"' in response.header("WWW-Authenticate")
            assert stack.request("GET", "/api/ret/tasks", better_auth_token(current_private, "current", "ret", jwks.url, lifetime)).status == 200
        assert "changed: 1 keys: current (Ed25519, EdDSA)" in stack.log()
    finally:
        stack.stop()


def test_a_failing_jwks_endpoint_keeps_the_keys_and_is_logged_once_a_minute(jwks):
    private, x = ed25519_key()
    jwks.publish(("key-1", x))
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url,
                                               "JWKS_MAX_AGE": "1", "JWKS_REFRESH_INTERVAL": "1"}).start()
    try:
        jwks.broken = True
        hits = jwks.hits
        time.sleep(3.5)
        assert jwks.hits - hits >= 2  # retried in the background, once per interval
        fresh = better_auth_token(private, "key-1", "down", jwks.url, lifetime=700)
        assert stack.request("GET", "/api/down/tasks", fresh).status == 200
        failures = [line for line in stack.log().splitlines() if "could not be fetched" in line]
        assert len(failures) == 1, failures
        assert " error: " in failures[0] and "keeping the 1 keys loaded before" in failures[0] and "HTTP 503" in failures[0]
        jwks.broken = False
        time.sleep(1.6)
        assert "loaded again after" in stack.log()
    finally:
        stack.stop()


def test_keys_and_tokens_without_kid(jwks):
    """Better Auth with advanced.database.generateId: false publishes keys and signs tokens without kid."""
    private, x = ed25519_key()
    other_private, other_x = ed25519_key()
    stranger, _ = ed25519_key()
    jwks.publish((None, other_x), (None, x))
    stack = Stack(processes=1, threads=2, env={"BETTER_AUTH_SECRET": "", "BETTER_AUTH_URL": jwks.url}).start()
    try:
        for signer in (private, other_private):
            response = stack.request("GET", "/api/nokid/tasks", better_auth_token(signer, None, "nokid", jwks.url))
            assert response.status == 200, response.body
        response = stack.request("GET", "/api/nokid/tasks", better_auth_token(stranger, None, "nokid", jwks.url))
        assert response.status == 401 and 'error_description="token signature does not match"' in response.header("WWW-Authenticate")
        # A token that names a kid must find it: a key without kid is not a wildcard.
        response = stack.request("GET", "/api/nokid/tasks", better_auth_token(private, "some-kid", "nokid", jwks.url))
        assert response.status == 401 and 'error_description="unknown key id"' in response.header("WWW-Authenticate")
    finally:
        stack.stop()
