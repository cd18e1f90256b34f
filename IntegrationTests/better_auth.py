"""Better Auth stand-ins for the integration tests: Ed25519 keys and tokens made with the
`cryptography` package (independently of the worker's own signing code), and a JWKS endpoint
on loopback whose keys can be swapped and which can be broken."""
import http.server
import json
import threading
import time

from stack import b64url


def ed25519_key():
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives import serialization
    private = ed25519.Ed25519PrivateKey.generate()
    x = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, b64url(x)


def better_auth_token(private, kid, sub, base_url, lifetime=900, alg="EdDSA"):
    """A token as Better Auth's JWT plugin makes it: user fields, sub, iat, exp, iss = aud = base URL."""
    now = int(time.time())
    header = {"alg": alg, **({"kid": kid} if kid else {})}
    payload = {"id": sub, "name": "Ada", "email": "ada@example.com", "emailVerified": True, "image": None,
               "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
               "iat": now, "exp": now + lifetime, "sub": sub, "iss": base_url, "aud": base_url}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return signing_input + "." + b64url(private.sign(signing_input.encode()))


class JWKSServer:
    """Serves /api/auth/jwks on a loopback port, like Better Auth; keys can be swapped or the server broken."""

    def __init__(self):
        self.keys = []
        self.cache_control = None
        self.broken = False
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits += 1
                if owner.broken or self.path != "/api/auth/jwks":
                    self.send_response(503 if owner.broken else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if owner.cache_control:
                    self.send_header("Cache-Control", owner.cache_control)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *entries):
        """Publishes (kid, x) pairs; a kid of None publishes the key without one."""
        self.keys = [{"alg": "EdDSA", "crv": "Ed25519", "x": x, "kty": "OKP", **({"kid": kid} if kid else {})}
                     for kid, x in entries]

    def stop(self):
        self.server.shutdown()
