"""Runs last (file order): the whole run's audit trail and every log of the stack hold no access
token, client assertion, URL signature or server secret (README "Audit trail")."""
from __future__ import annotations

import os
import re

from fhir_support import require_env
from security_support import atrctl

#: A compact JWS (access token or client assertion): base64url JSON header and payload.
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")
#: A signed file URL's signature parameter.
URL_SIGNATURE = re.compile(rb"md5=[A-Za-z0-9_-]{10,}")


def secrets() -> list[bytes]:
    state = require_env("ATR_STATE_DIR")
    found = []
    for name in ("url-signing.key", "token-signing-key.pem"):
        with open(os.path.join(state, "secrets", name), "rb") as handle:
            for line in handle.read().splitlines():
                if len(line) >= 16 and not line.startswith(b"-----"):
                    found.append(line.strip())
    return found


def scanned() -> dict[str, bytes]:
    state = require_env("ATR_STATE_DIR")
    texts = {"audit trail": atrctl("audit", "--json").stdout.encode()}
    log_dir = os.path.join(state, "log")
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), "rb") as handle:
            texts[f"log/{name}"] = handle.read()
    return texts


def test_no_token_assertion_signature_or_secret_in_the_trail_or_the_logs():
    texts = scanned()
    assert texts["audit trail"].count(b"\n") > 50, "the run left an audit trail"
    assert any(name.startswith("log/") and text for name, text in texts.items())
    problems = []
    for name, text in texts.items():
        for pattern in (JWT, URL_SIGNATURE):
            for match in pattern.finditer(text):
                start = max(0, match.start() - 80)
                problems.append(f"{name}: {text[start:match.end()][:200]!r}")
        for secret in secrets():
            if secret in text:
                problems.append(f"{name}: a server secret")
    assert problems == [], "\n".join(problems[:20])
