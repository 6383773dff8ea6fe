"""Helpers for the SMART Backend Services tests (README "Security (SMART Backend Services)"): client keys
(RSA-2048 for RS384, P-384 for ES384) as JWKS or PEM, JWTs signed by hand with the
`cryptography` package (so tests can also build what a library would refuse to: `alg: none`,
HS256 keyed with a public key), client registration with `atrctl clients add`, the token
endpoint, tokens forged with the server's own signing key, and sessions that carry exactly
the bearer token a test chooses (the suite's `http` session carries the admin client's).

The contract encoded here:
  - token endpoint `{origin}/auth/token`, advertised by `{base}/.well-known/smart-configuration`
    and the CapabilityStatement; form-encoded `client_credentials` + a `jwt-bearer` client
    assertion (`iss` = `sub` = client id, `aud` = the token URL, `exp` <= now + 300 s, `jti`);
  - OAuth errors as JSON `{"error", "error_description"}` with `application/json`;
  - access tokens: ES384 JWTs, `iss` = `{origin}/auth`, `aud` = the FHIR base, `exp` <= 300 s;
  - resource requests without a valid token: 401, `WWW-Authenticate: Bearer …`, an
    OperationOutcome with code `login`; insufficient scope: 403 OperationOutcome naming it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from fhir_support import (
    DEFAULT_TIMEOUT, FHIR_JSON, assert_outcome, describe, require_env,
)

# --- contract constants -------------------------------------------------------------------

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OAUTH_CONTENT_TYPE = "application/json"
OAUTH_URIS_EXTENSION = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
#: The `kid` the built-in issuer signs its access tokens with.
SERVER_KID = "atr-export-1"
#: Longest lifetime of an access token and of a client assertion (seconds).
MAX_LIFETIME = 300

#: Members of atr-group-sunrise that an export must contain (carol and dan opted out).
SUNRISE_PATIENTS = sorted([
    "patient-alice", "patient-bob", "patient-erin", "patient-frank",
    "patient-grace", "patient-henry", "patient-ivy", "patient-jack",
])
SUNRISE_OPTED_OUT = ["patient-carol", "patient-dan"]


# --- base64url and JWTs ---------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def jwt_parts(header: dict, payload: dict) -> str:
    return b64url(compact_json(header)) + "." + b64url(compact_json(payload))


def decode_jwt(token: str) -> tuple[dict, dict]:
    """(header, payload) of a compact JWS, unverified."""
    head, body, _ = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body))


def int_bytes(value: int, length: int | None = None) -> bytes:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


@dataclass
class Key:
    """A client (or server) signing key: RSA (RS384) or EC P-384 (ES384)."""
    private: Any
    kid: str | None = None

    @staticmethod
    def rsa(kid: str | None = None, bits: int = 2048) -> "Key":
        return Key(rsa.generate_private_key(public_exponent=65537, key_size=bits), kid)

    @staticmethod
    def p384(kid: str | None = None) -> "Key":
        return Key(ec.generate_private_key(ec.SECP384R1()), kid)

    @property
    def is_rsa(self) -> bool:
        return isinstance(self.private, rsa.RSAPrivateKey)

    @property
    def alg(self) -> str:
        return "RS384" if self.is_rsa else "ES384"

    def public_members(self) -> dict[str, str]:
        """The RFC 7638 required members."""
        numbers = self.private.public_key().public_numbers()
        if self.is_rsa:
            return {"e": b64url(int_bytes(numbers.e)), "kty": "RSA", "n": b64url(int_bytes(numbers.n))}
        return {"crv": "P-384", "kty": "EC", "x": b64url(int_bytes(numbers.x, 48)),
                "y": b64url(int_bytes(numbers.y, 48))}

    @property
    def thumbprint(self) -> str:
        """RFC 7638: base64url(SHA-256(required members, sorted, no whitespace))."""
        canonical = json.dumps(self.public_members(), sort_keys=True, separators=(",", ":"))
        return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())

    def public_jwk(self) -> dict[str, str]:
        jwk = dict(self.public_members())
        jwk.update({"alg": self.alg, "use": "sig", "key_ops": ["verify"]})  # type: ignore[dict-item]
        if self.kid is not None:
            jwk["kid"] = self.kid
        return jwk

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature: RSASSA-PKCS1-v1_5 SHA-384, or ECDSA P-384 as raw r || s."""
        if self.is_rsa:
            return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        return int_bytes(r, 48) + int_bytes(s, 48)

    def verify(self, token: str) -> bool:
        head, body, sig = token.split(".")
        data = f"{head}.{body}".encode("ascii")
        signature = b64url_decode(sig)
        try:
            if self.is_rsa:
                self.private.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA384())
            else:
                der = encode_dss_signature(int.from_bytes(signature[:48], "big"),
                                           int.from_bytes(signature[48:], "big"))
                self.private.public_key().verify(der, data, ec.ECDSA(hashes.SHA384()))
            return True
        except Exception:  # noqa: BLE001 - any failure is "does not verify"
            return False

    def jwt(self, payload: dict, *, kid: str | None | bool = True, alg: str | None = None,
            extra_header: dict | None = None) -> str:
        """A compact JWS signed with this key. ``kid=True`` uses the key's kid (if any),
        ``kid=None``/``False`` leaves it out, a string sets it."""
        header: dict[str, Any] = {"alg": alg or self.alg, "typ": "JWT"}
        if kid is True:
            if self.kid is not None:
                header["kid"] = self.kid
        elif isinstance(kid, str):
            header["kid"] = kid
        header.update(extra_header or {})
        signing_input = jwt_parts(header, payload)
        return signing_input + "." + b64url(self.sign(signing_input.encode("ascii")))


def unsigned_jwt(payload: dict, header: dict | None = None) -> str:
    """`alg: none`: header.payload. with an empty signature."""
    return jwt_parts(header or {"alg": "none", "typ": "JWT"}, payload) + "."


def hs256_jwt(payload: dict, secret: bytes, header: dict | None = None) -> str:
    import hmac

    signing_input = jwt_parts(header or {"alg": "HS256", "typ": "JWT"}, payload)
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


# --- the stack ------------------------------------------------------------------------------


def base_url() -> str:
    return require_env("ATR_BASE").rstrip("/")


def origin() -> str:
    parts = urllib.parse.urlsplit(base_url())
    return f"{parts.scheme}://{parts.netloc}"


def token_url() -> str:
    """The token endpoint the harness's stack must advertise: `{origin}/auth/token`."""
    return f"{origin()}/auth/token"


def issuer() -> str:
    return f"{origin()}/auth"


def ca() -> str:
    return require_env("ATR_CA")


def state_dir() -> str:
    return require_env("ATR_STATE_DIR")


def bare_session(token: str | None = None) -> requests.Session:
    """A session trusting the dev CA, Accept: FHIR JSON, and only the given bearer token."""
    session = requests.Session()
    session.verify = ca()
    session.headers.update({"Accept": FHIR_JSON})
    if token is not None:
        session.headers["Authorization"] = f"Bearer {token}"
    original = session.request

    def request(method, url, *args, **kwargs):
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("verify", ca())
        return original(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(url: str, token: str | None = None, headers: dict[str, str] | None = None,
        **kw) -> requests.Response:
    """One GET with exactly the given token (none when None)."""
    sent = {"Accept": FHIR_JSON, **(bearer(token) if token is not None else {}), **(headers or {})}
    return requests.get(url, headers=sent, verify=ca(), timeout=DEFAULT_TIMEOUT, **kw)


def request(method: str, url: str, token: str | None = None, headers: dict[str, str] | None = None,
            **kw) -> requests.Response:
    sent = {"Accept": FHIR_JSON, **(bearer(token) if token is not None else {}), **(headers or {})}
    return requests.request(method, url, headers=sent, verify=ca(), timeout=DEFAULT_TIMEOUT, **kw)


# --- clients --------------------------------------------------------------------------------


def new_client_id(prefix: str = "sec") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


_key_dir: list[str] = []


def key_dir() -> str:
    if not _key_dir:
        _key_dir.append(tempfile.mkdtemp(prefix="atr-sec-keys-"))
    return _key_dir[0]


def atrctl(*args: str) -> subprocess.CompletedProcess:
    """`atrctl` against the harness's stack (ATR_INSTANCE_SETTINGS from the environment)."""
    proc = subprocess.run([os.path.join(require_env("ATR_BIN"), "atrctl"), *args],
                          capture_output=True, text=True, timeout=60, cwd=require_env("ATR_ROOT"))
    assert proc.returncode == 0, \
        f"atrctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@dataclass
class Client:
    """A registered client and the keys it signs with."""
    client_id: str
    keys: list[Key]
    scope: str
    groups: list[str]
    registered_as: str = "jwks"
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return self.keys[0]

    def assertion(self, *, key: Key | None = None, kid: str | None | bool = True,
                  **claims: Any) -> str:
        """A client assertion; any claim can be overridden (a value of None removes it)."""
        return client_assertion(self.client_id, key or self.key, kid=kid, **claims)

    def request_token(self, scope: str | None = None, **claims: Any) -> requests.Response:
        return post_token(self.assertion(**claims), scope if scope is not None else self.scope)

    def token(self, scope: str | None = None) -> str:
        """An access token through the real token endpoint (cached for ~2 minutes)."""
        wanted = scope if scope is not None else self.scope
        cached = self._tokens.get(wanted)
        if cached and time.monotonic() - cached[1] < 120:
            return cached[0]
        resp = self.request_token(wanted)
        assert resp.status_code == 200, describe(resp)
        token = resp.json()["access_token"]
        self._tokens[wanted] = (token, time.monotonic())
        return token

    def session(self, scope: str | None = None) -> requests.Session:
        return bare_session(self.token(scope))


def register(client_id: str, keys: Iterable[Key], scope: str, groups: Iterable[str] = ("*",),
             *, pem: bool = False, role: str = "provider") -> Client:
    """`atrctl clients add --id … --jwks FILE --scope … --group … --role …` with a JWKS file
    (each key with its kid) or, with ``pem``, the first key's PEM public key."""
    keys = list(keys)
    groups = list(groups)
    if pem:
        path = os.path.join(key_dir(), f"{client_id}.pub.pem")
        with open(path, "wb") as handle:
            handle.write(keys[0].public_pem())
    else:
        path = os.path.join(key_dir(), f"{client_id}.jwks.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"keys": [k.public_jwk() for k in keys]}, handle)
    args = ["clients", "add", "--id", client_id, "--jwks", path, "--scope", scope, "--role", role]
    for group_id in groups:
        args += ["--group", group_id]
    atrctl(*args)
    return Client(client_id, keys, scope, groups, "pem" if pem else "jwks")


def register_new(prefix: str, scope: str, groups: Iterable[str] = ("*",), *,
                 key: Key | None = None, role: str = "provider") -> Client:
    client_id = new_client_id(prefix)
    return register(client_id, [key or Key.p384(kid=f"{client_id}-k1")], scope, groups, role=role)


def client_assertion(client_id: str, key: Key, *, kid: str | None | bool = True,
                     **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": client_id, "sub": client_id, "aud": token_url(),
        "exp": now + 240, "iat": now, "jti": uuid.uuid4().hex,
    }
    for name, value in claims.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return key.jwt(payload, kid=kid)


def token_form(assertion: str, scope: str | None, **overrides: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def post_token(assertion: str, scope: str | None, **overrides: str | None) -> requests.Response:
    """POST the form to the token endpoint (application/x-www-form-urlencoded)."""
    return requests.post(token_url(), data=token_form(assertion, scope, **overrides),
                         headers={"Accept": "application/json"}, verify=ca(), timeout=DEFAULT_TIMEOUT)


# --- the server's own signing key: forged access tokens --------------------------------------


def server_key() -> Key:
    """The built-in issuer's P-384 private key ($ATR_STATE_DIR/secrets/token-signing-key.pem)."""
    with open(os.path.join(state_dir(), "secrets", "token-signing-key.pem"), "rb") as handle:
        private = serialization.load_pem_private_key(handle.read(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp384r1"
    return Key(private, SERVER_KID)


def access_claims(client_id: str, scope: str = "system/*.read", groups: Iterable[str] = ("*",),
                  **overrides: Any) -> dict[str, Any]:
    """The claims the built-in issuer puts in an access token (a value of None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer(), "sub": client_id, "client_id": client_id, "aud": base_url(),
        "iat": now, "nbf": now, "exp": now + 240, "jti": uuid.uuid4().hex,
        "scope": scope, "groups": list(groups),
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def forge_access_token(client_id: str = "e2e-admin", key: Key | None = None, **overrides: Any) -> str:
    """An access token signed ES384 with the server's key (or ``key``)."""
    return (key or server_key()).jwt(access_claims(client_id, **overrides),
                                     extra_header={"typ": "at+jwt"})


# --- assertions -----------------------------------------------------------------------------


def assert_no_store(resp: requests.Response) -> None:
    """RFC 6749 §5.1: token responses are not cached (`Cache-Control: no-store`; nginx's
    server-wide header may repeat the directive)."""
    directives = {d.strip().lower() for d in resp.headers.get("Cache-Control", "").split(",")}
    assert directives == {"no-store"}, describe(resp)


def assert_oauth_error(resp: requests.Response, status: int, error: str,
                       mentions: Iterable[str] | str = ()) -> dict:
    """RFC 6749 §5.2: exact status, application/json, {"error", "error_description"}; a 401
    also carries WWW-Authenticate."""
    assert resp.status_code == status, f"expected {status} {error}\n{describe(resp)}"
    assert resp.headers.get("Content-Type") == OAUTH_CONTENT_TYPE, describe(resp)
    assert_no_store(resp)
    body = resp.json()
    assert set(body) == {"error", "error_description"}, describe(resp)
    assert body["error"] == error, f"expected error {error!r}\n{describe(resp)}"
    assert isinstance(body["error_description"], str) and body["error_description"], describe(resp)
    if isinstance(mentions, str):
        mentions = [mentions]
    for word in mentions:
        assert word.lower() in body["error_description"].lower(), \
            f"error_description should mention {word!r}\n{describe(resp)}"
    if status == 401:
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), describe(resp)
    return body


def assert_token_response(resp: requests.Response, scope: str, client_id: str) -> dict:
    """200 with an access token whose scope is exactly ``scope``; the token itself is an ES384
    JWT from the built-in issuer that verifies with the server's key."""
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type") == OAUTH_CONTENT_TYPE, describe(resp)
    assert_no_store(resp)
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}, describe(resp)
    assert body["token_type"].lower() == "bearer", describe(resp)
    assert isinstance(body["expires_in"], int) and 0 < body["expires_in"] <= MAX_LIFETIME, describe(resp)
    assert body["scope"] == scope, describe(resp)
    token = body["access_token"]
    header, claims = decode_jwt(token)
    assert header["alg"] == "ES384", header
    assert server_key().verify(token), "the access token does not verify with the server's key"
    assert claims["iss"] == issuer(), claims
    assert claims["aud"] == base_url(), claims
    assert claims["client_id"] == client_id, claims
    assert claims["scope"] == scope, claims
    now = time.time()
    assert now - 60 <= claims["exp"] <= now + MAX_LIFETIME + 5, claims
    assert claims["exp"] - claims["iat"] == body["expires_in"], claims
    return body


def assert_unauthorized(resp: requests.Response, invalid_token: bool | None = None) -> dict:
    """401, `WWW-Authenticate: Bearer …` (with error="invalid_token" when a token was sent
    and refused), and an OperationOutcome with code `login`."""
    body = assert_outcome(resp, 401, "login")
    challenge = resp.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), describe(resp)
    if invalid_token is True:
        assert 'error="invalid_token"' in challenge, describe(resp)
    elif invalid_token is False:
        assert "error=" not in challenge, describe(resp)
    return body


def assert_forbidden(resp: requests.Response, mentions: Iterable[str] | str = ()) -> dict:
    return assert_outcome(resp, 403, "forbidden", mentions)


def assert_not_found(resp: requests.Response, mentions: Iterable[str] | str = ()) -> dict:
    return assert_outcome(resp, 404, "not-found", mentions)

