"""Shared helpers for the end-to-end suite: a thin FHIR client, resource builders and the
assertions every test uses.

Everything that encodes the HTTP contract (README "HTTP interface") in one place lives here, so
reconciling the suite with the server means changing this file, not forty tests.
"""
from __future__ import annotations

import copy
import email.utils
import json
import os
import re
import urllib.parse
import uuid
import subprocess
import time
import threading
from datetime import datetime, timezone
from typing import Any, Iterable

import pytest
import requests

# --- contract constants -------------------------------------------------------------------

FHIR_JSON = "application/fhir+json"
#: The exact Content-Type of every FHIR response produced by atr-fcgi.
FHIR_CONTENT_TYPE = "application/fhir+json; charset=utf-8"

LAST_UPDATED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SERVER_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HTTP_DATE_RE = re.compile(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$")

ATR_GROUP_PROFILE = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-group"
ID_SYSTEM = "http://example.org/atr-e2e/ids"

#: Every request gets a timeout, so a hung server fails a test instead of the whole run.
DEFAULT_TIMEOUT = 60


# --- environment ------------------------------------------------------------------------


def require_env(name: str) -> str:
    """The value of an environment variable the e2e harness sets; fail clearly if missing."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"environment variable {name} is not set (the e2e harness sets it)",
                    pytrace=False)
    return value


_token_lock = threading.Lock()
_token_cache: dict[str, Any] = {"token": None, "minted": 0.0, "minted_wall": 0.0}


def current_token() -> str | None:
    """The bearer token every request carries: `ATR_TOKEN` if the harness fixed one, else a
    token for the harness's admin client (`ATR_TEST_CLIENT`, all scopes, all Groups) minted
    with `atrctl token` and renewed after 100 s, well before its 300 s lifetime ends (a loaded machine can take minutes between a mint and a use)."""
    if os.environ.get("ATR_TOKEN"):
        return os.environ["ATR_TOKEN"]
    client = os.environ.get("ATR_TEST_CLIENT")
    if not client:
        return None
    with _token_lock:
        # Both clocks: the server checks `exp` against the wall clock, which a VM may step forward.
        if (_token_cache["token"] is None or time.monotonic() - _token_cache["minted"] > 100
                or abs(time.time() - _token_cache["minted_wall"]) > 100):
            out = subprocess.run(
                [os.path.join(require_env("ATR_BIN"), "atrctl"), "token", "--client", client,
                 "--scope", "system/*.read system/*.write"],
                check=True, capture_output=True, text=True, timeout=60)
            _token_cache["token"] = out.stdout.strip()
            _token_cache["minted"] = time.monotonic()
            _token_cache["minted_wall"] = time.time()
        return _token_cache["token"]


def auth_headers() -> dict[str, str]:
    """`Authorization: Bearer …` for the harness's admin client (see current_token)."""
    token = current_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


# --- ids and resources ----------------------------------------------------------------------


def new_id(prefix: str = "t") -> str:
    """A FHIR id unique to this run and test, e.g. ``t-1a2b3c4d5e6f``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dumps(value: Any, ascii_only: bool = False) -> bytes:
    """JSON bytes as a client would send them (UTF-8, not \\u-escaped unless asked)."""
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")


def patient(pid: str | None = None, family: str = "Doe", **extra: Any) -> dict:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"family": family, "given": ["Zoë", "李"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
    }
    if pid is not None:
        res["id"] = pid
    res.update(extra)
    return res


def coverage(cid: str | None, beneficiary: str, payor: str = "Organization/atr-e2e-payer",
             **extra: Any) -> dict:
    res: dict[str, Any] = {
        "resourceType": "Coverage",
        "status": "active",
        "beneficiary": {"reference": beneficiary},
        "payor": [{"reference": payor}],
        "costToBeneficiary": [{"valueMoney": {"value": 12.5, "currency": "USD"}}],
    }
    if cid is not None:
        res["id"] = cid
    res.update(extra)
    return res


def group(gid: str | None, identifiers: Iterable[tuple[str, str]] = (), name: str | None = None,
          members: Iterable[str] = (), **extra: Any) -> dict:
    res: dict[str, Any] = {
        "resourceType": "Group",
        "meta": {"profile": [ATR_GROUP_PROFILE]},
        "type": "person",
        "actual": True,
    }
    if gid is not None:
        res["id"] = gid
    ids = [{"system": s, "value": v} for s, v in identifiers]
    if ids:
        res["identifier"] = ids
    if name is not None:
        res["name"] = name
    mem = [{"entity": {"reference": m}} for m in members]
    if mem:
        res["member"] = mem
    res.update(extra)
    return res


def minimal(rtype: str, rid: str) -> dict:
    """A small, valid instance of each type the server stores."""
    bodies: dict[str, dict] = {
        "Patient": patient(rid),
        "Coverage": coverage(rid, "Patient/x"),
        "Group": group(rid, [(ID_SYSTEM, rid)], name=f"Group {rid}"),
        "RelatedPerson": {"resourceType": "RelatedPerson", "id": rid,
                          "patient": {"reference": "Patient/x"},
                          "name": [{"family": "Related"}]},
        "Practitioner": {"resourceType": "Practitioner", "id": rid,
                         "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi",
                                         "value": "1234567893"}],
                         "name": [{"family": "Welby", "prefix": ["Dr."]}]},
        "PractitionerRole": {"resourceType": "PractitionerRole", "id": rid, "active": True,
                             "practitioner": {"reference": "Practitioner/x"},
                             "organization": {"reference": "Organization/x"}},
        "Organization": {"resourceType": "Organization", "id": rid, "active": True,
                         "name": "ATR e2e Health Plan"},
        "Location": {"resourceType": "Location", "id": rid, "status": "active",
                     "name": "ATR e2e Clinic"},
        "Consent": {"resourceType": "Consent", "id": rid, "status": "active",
                    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                          "code": "patient-privacy"}]},
                    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                    "patient": {"reference": "Patient/x"},
                    "provision": {"type": "deny"}},
    }
    return copy.deepcopy(bodies[rtype])


SUPPORTED_TYPES = ["Group", "Patient", "Coverage", "RelatedPerson", "Practitioner",
                   "PractitionerRole", "Organization", "Location", "Consent"]


def without_server_meta(res: dict) -> dict:
    """The resource minus what the server sets (meta.versionId, meta.lastUpdated)."""
    out = copy.deepcopy(res)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del out["meta"]
    return out


def parse_instant(value: str) -> datetime:
    assert LAST_UPDATED_RE.match(value), f"not a UTC instant with 3 fractional digits: {value!r}"
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# --- client -------------------------------------------------------------------------------


class FhirSession(requests.Session):
    """requests.Session with a CA bundle, a default timeout and the optional bearer token.

    Not thread-safe (no requests.Session is): give each thread its own.
    """

    def __init__(self, verify: str | bool = True):
        super().__init__()
        self.verify = verify
        self.headers.update({"Accept": FHIR_JSON})
        self.headers.update(auth_headers())
        self._harness_authorization = self.headers.get("Authorization")

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        # The harness's token, renewed as it ages (current_token): a session lives as long as the
        # test run (the `http` fixture), longer than a token's 300 s. A header a test set itself
        # is left alone.
        if self._harness_authorization is not None and self.headers.get("Authorization") == self._harness_authorization:
            self._harness_authorization = auth_headers().get("Authorization")
            self.headers["Authorization"] = self._harness_authorization
        # Per request, because requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
        # environment override Session.verify (psf/requests#3829).
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def fhir_headers(content_type: str | None = FHIR_JSON) -> dict[str, str]:
    """Request headers for a FHIR write. ``None`` sends no Content-Type at all."""
    headers = {"Accept": FHIR_JSON}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


class Fhir:
    """The few FHIR interactions the tests need, with bodies sent exactly as given."""

    def __init__(self, session: requests.Session, base: str):
        self.s = session
        self.base = base

    def url(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    @staticmethod
    def _body(resource: Any, raw: bytes | None) -> bytes:
        return raw if raw is not None else dumps(resource)

    def put(self, rtype: str, rid: str, resource: Any = None, *, raw: bytes | None = None,
            content_type: str | None = FHIR_JSON, **kw) -> requests.Response:
        return self.s.put(self.url(rtype, rid), data=self._body(resource, raw),
                          headers=fhir_headers(content_type), **kw)

    def post(self, rtype: str, resource: Any = None, *, raw: bytes | None = None,
             content_type: str | None = FHIR_JSON, **kw) -> requests.Response:
        return self.s.post(self.url(rtype), data=self._body(resource, raw),
                           headers=fhir_headers(content_type), **kw)

    def get(self, rtype: str, rid: str, **kw) -> requests.Response:
        return self.s.get(self.url(rtype, rid), **kw)

    def delete(self, rtype: str, rid: str, **kw) -> requests.Response:
        return self.s.delete(self.url(rtype, rid), **kw)

    def bundle(self, bundle: Any = None, *, raw: bytes | None = None) -> requests.Response:
        """POST {base} (batch / transaction)."""
        return self.s.post(self.base, data=self._body(bundle, raw), headers=fhir_headers())

    def search_groups(self, params: dict[str, str] | list[tuple[str, str]]) -> requests.Response:
        """GET {base}/Group?... with %20 (not '+') for spaces; a list repeats parameters."""
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        return self.s.get(f"{self.url('Group')}?{query}")

    def metadata(self) -> requests.Response:
        return self.s.get(self.url("metadata"))


# --- assertions ---------------------------------------------------------------------------


def describe(resp: requests.Response) -> str:
    return (f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n"
            f"headers: {dict(resp.headers)}\nbody: {resp.text[:1500]}")


def assert_status(resp: requests.Response, status: int) -> None:
    assert resp.status_code == status, f"expected {status}\n{describe(resp)}"


def fhir_json(resp: requests.Response, status: int) -> dict:
    """Assert status and the exact FHIR Content-Type; return the parsed body."""
    assert_status(resp, status)
    assert resp.headers.get("Content-Type") == FHIR_CONTENT_TYPE, describe(resp)
    try:
        return resp.json()
    except ValueError:  # pragma: no cover - the assertion message is the point
        pytest.fail(f"response body is not JSON\n{describe(resp)}")


def assert_outcome(resp: requests.Response, status: int, code: str | None = None,
                   mentions: Iterable[str] | str = ()) -> dict:
    """Assert an error OperationOutcome: status, severity error, issue code, and that
    diagnostics contain each of ``mentions`` (case-insensitive)."""
    body = fhir_json(resp, status)
    assert body.get("resourceType") == "OperationOutcome", describe(resp)
    issues = body.get("issue")
    assert isinstance(issues, list) and issues, describe(resp)
    issue = issues[0]
    assert issue.get("severity") == "error", describe(resp)
    if code is not None:
        assert issue.get("code") == code, f"expected issue code {code!r}\n{describe(resp)}"
    if isinstance(mentions, str):
        mentions = [mentions]
    diagnostics = str(issue.get("diagnostics", ""))
    for word in mentions:
        assert word.lower() in diagnostics.lower(), \
            f"diagnostics should mention {word!r}\n{describe(resp)}"
    return body


def assert_client_error_outcome(resp: requests.Response) -> dict:
    """Any 4xx with an error OperationOutcome (for inputs the contract does not pin down)."""
    assert 400 <= resp.status_code < 500, f"expected a 4xx\n{describe(resp)}"
    return assert_outcome(resp, resp.status_code)


def assert_stored(resp: requests.Response, base: str, rtype: str, rid: str, version: int,
                  status: int, sent: dict | None = None) -> dict:
    """A write response (PUT/POST): status, body with meta, ETag, Location, Last-Modified."""
    body = fhir_json(resp, status)
    assert body.get("resourceType") == rtype, describe(resp)
    assert body.get("id") == rid, describe(resp)
    meta = body.get("meta") or {}
    assert meta.get("versionId") == str(version), describe(resp)
    last_updated = meta.get("lastUpdated")
    assert isinstance(last_updated, str) and LAST_UPDATED_RE.match(last_updated), describe(resp)
    assert resp.headers.get("ETag") == f'W/"{version}"', describe(resp)
    assert resp.headers.get("Location") == f"{base}/{rtype}/{rid}/_history/{version}", describe(resp)
    last_modified = resp.headers.get("Last-Modified", "")
    assert HTTP_DATE_RE.match(last_modified), describe(resp)
    delta = email.utils.parsedate_to_datetime(last_modified) - parse_instant(last_updated)
    assert abs(delta.total_seconds()) <= 1, \
        f"Last-Modified {last_modified} disagrees with meta.lastUpdated {last_updated}"
    if sent is not None:
        expected = without_server_meta(sent)
        expected["id"] = rid
        assert without_server_meta(body) == expected, describe(resp)
    return body


def assert_absent(fhir: Fhir, rtype: str, rid: str) -> None:
    """Nothing was ever stored under this id."""
    assert_outcome(fhir.get(rtype, rid), 404, "not-found", rid)


def entries(bundle: dict) -> list[dict]:
    """Bundle.entry; an empty Bundle may omit it."""
    value = bundle.get("entry", [])
    assert isinstance(value, list), bundle
    return value
