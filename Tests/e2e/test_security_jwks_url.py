"""Clients registered by JWKS URL (`atrctl clients add --jwks-url`): the token endpoint fetches
the key set, caches it for its Cache-Control max-age, and gives up on a server that does not
answer within SmartAuthorizationOptions.JwksFetchTimeout."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from security_support import Key, atrctl, client_assertion, new_client_id, post_token


class _JWKSServer:
    def __init__(self, jwks: dict, cache_control: str):
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                owner.requests += 1
                body = json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_client():
    key = Key.p384(kid="url-key-1")
    server = _JWKSServer({"keys": [key.public_jwk()]}, "max-age=300")
    client_id = new_client_id("jwksurl")
    atrctl("clients", "add", "--id", client_id, "--jwks-url", server.url, "--scope", "system/*.read", "--group", "*")
    yield client_id, key, server
    server.close()


def test_token_with_keys_fetched_by_url_and_cached(jwks_client):
    client_id, key, server = jwks_client
    first = post_token(client_assertion(client_id, key), "system/Patient.read")
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == "system/Patient.read"
    second = post_token(client_assertion(client_id, key), "system/Patient.read")
    assert second.status_code == 200, second.text
    # atr-fcgi runs several worker threads sharing one cache: at most one fetch per max-age.
    assert server.requests == 1


def test_unknown_key_at_the_url_is_invalid_client(jwks_client):
    client_id, _, _ = jwks_client
    stranger = Key.p384(kid="url-key-1")
    refused = post_token(client_assertion(client_id, stranger), "system/Patient.read")
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_client"


def test_a_silent_jwks_server_times_out_as_invalid_client():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"
        client_id = new_client_id("jwksslow")
        atrctl("clients", "add", "--id", client_id, "--jwks-url", url, "--scope", "system/*.read", "--group", "*")
        started = time.monotonic()
        refused = post_token(client_assertion(client_id, Key.p384(kid="k")), "system/Patient.read")
        elapsed = time.monotonic() - started
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_client"
        assert elapsed < 15, elapsed  # JwksFetchTimeout is 5 s
    finally:
        listener.close()
