"""A generated corpus of malformed requests, each of which must be answered 4xx with an
OperationOutcome (or, at the token endpoint, an OAuth error): kick-off parameters, Parameters
bodies, headers, ids and paths on every route, bearer tokens, token-endpoint forms, REST
bodies. Each case is one `Case`; names are unique so a failure says which."""
from __future__ import annotations

import base64
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Iterator

from raw_http import RawRequest

SUNRISE = "atr-group-sunrise"
KICKOFF_HEADERS = [(b"Accept", b"application/fhir+json"), (b"Prefer", b"respond-async")]
HUGE = "A" * 100_000
LONG_ID = "a" * 10_000


@dataclass
class Case:
    name: str
    request: RawRequest
    #: "fhir": an OperationOutcome; "oauth": `{"error": …}` (or the 413 OperationOutcome of an
    #: oversized body, refused before routing); "closed": no answer is possible, the connection
    #: is closed (not reset) after nginx's client_body_timeout.
    dialect: str = "fhir"


@dataclass
class Context:
    base_path: str          # "/fhir"
    token: str              # a valid admin access token
    forge: Callable[..., str]   # forge(**claim overrides or header=...) -> token signed by the server key
    other_key_token: str    # a well-formed token signed with a key the server does not know
    none_token: str         # alg: none
    hs384_token: str        # HS384 keyed with the server's public key
    client_assertion: Callable[..., str]  # a client assertion for a registered client, with overrides

    def auth(self, token: str | None = None) -> list[tuple[bytes, bytes]]:
        return [(b"Authorization", b"Bearer " + (token or self.token).encode())]


def q(text: str) -> str:
    """Percent-encodes a value the way a careful client would (so tricks below are explicit)."""
    return urllib.parse.quote(text, safe="")


def get(ctx: Context, path: str, extra: list[tuple[bytes, bytes]] | None = None, auth: bool = True) -> RawRequest:
    headers = [(b"Accept", b"application/fhir+json")] + (ctx.auth() if auth else []) + (extra or [])
    return RawRequest(b"GET", (ctx.base_path + path).encode("latin-1") if isinstance(path, str) else ctx.base_path.encode() + path,
                      headers)


def kickoff_get(ctx: Context, query: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> RawRequest:
    target = f"{ctx.base_path}/Group/{SUNRISE}/$davinci-data-export".encode() + (b"?" + query if query else b"")
    return RawRequest(b"GET", target, (KICKOFF_HEADERS if headers is None else headers) + ctx.auth())


def kickoff_post(ctx: Context, body: bytes, content_type: bytes | None = b"application/fhir+json",
                 headers: list[tuple[bytes, bytes]] | None = None) -> RawRequest:
    extra = [(b"Content-Type", content_type)] if content_type is not None else []
    target = f"{ctx.base_path}/Group/{SUNRISE}/$davinci-data-export".encode()
    return RawRequest(b"POST", target, (KICKOFF_HEADERS if headers is None else headers) + ctx.auth() + extra, body)


def parameters(*entries: object) -> bytes:
    return json.dumps({"resourceType": "Parameters", "parameter": list(entries)}).encode()


# --- 1. kick-off query parameters ---------------------------------------------------------

#: Values no kick-off parameter accepts (a parameter whose rules accept one is not given it).
COMMON_BAD = {
    "number": "123", "boolean": "true", "object": "{}", "array": "[]", "null": "null",
    "huge": HUGE, "nul": "%00", "bad-percent": "%ZZ", "lone-percent": "%", "short-percent": "%2",
    "overlong-slash": "%C0%AF", "invalid-utf8": "%FF%FE", "double-encoded-dots": "%252e%252e",
    "encoded-traversal": "..%2f..%2f", "rtl-override": "%E2%80%AE", "emoji": "%F0%9F%98%80",
    "embedded-nul": "a%00b", "spaces": "%20%20",
}
BAD_INSTANTS = {
    "empty": "", "word": "yesterday", "month-13": "2020-13-01T00:00:00Z", "hour-25": "2020-01-01T25:00:00Z",
    "feb-30": "2020-02-30T00:00:00Z", "no-zone": "2020-01-01T00:00:00", "zone-25": "2020-01-01T00:00:00%2B25:00",
    "year-only": "2020", "date-only": "2020-01-01", "year-0": "0000-01-01T00:00:00Z", "millis-garbage": "2020-01-01T00:00:00.xZ",
    "epoch-number": "1577836800", "trailing": "2020-01-01T00:00:00Zjunk", "lowercase": "2020-01-01t00:00:00z",
    "minute-60": "2020-01-01T00:60:00Z", "second-61": "2020-01-01T00:00:61Z",
}
PER_PARAMETER_BAD = {
    "_type": {"unknown": "Foo", "not-exported": "Observation", "mixed": "Patient,Observation", "lowercase": "patient",
              "semicolon": "Patient;Coverage", "pipe": "Patient|Coverage", "reference": "Group/1", "star": "*",
              "encoded-slash": "Patient%2FCoverage", "missing-minimum": "Patient", "nul-suffix": "Patient%00"},
    "resourceTypes": {"unknown": "Foo", "missing-minimum": "Coverage"},
    "_outputFormat": {"empty": "", "csv": "text/csv", "json": "application/json", "with-parameter": "ndjson;x=1",
                      "xml": "application/fhir%2Bxml"},
    "exportType": {"empty": "", "other": "hl7.fhir.us.davinci-atr%23x", "url-variant": "http://example.org/x"},
    "_elements": {"nested": "Patient.name.given", "digit": "1abc", "unknown-type": "Foo.bar", "dot": ".",
                  "trailing-dot": "Patient.", "uppercase": "Name"},
    "patient": {"reference": "Patient/patient-alice", "empty": ""},
    "_typeFilter": {"filter": "Patient%3Factive%3Dtrue"},
    "includeAssociatedData": {"value": "LatestProvenanceResources"},
    "organizeOutputBy": {"value": "Patient"},
    "allowPartialManifests": {"value": "true"},
    "foo": {"empty": "", "value": "bar"},
    "_count": {"value": "10"},
}
ACCEPTS_TYPES_AND_ELEMENT_NAMES = {"_type", "resourceTypes", "_elements"}


def kickoff_query_cases(ctx: Context) -> Iterator[Case]:
    for name in ["_type", "_since", "_until", "_outputFormat", "exportType", "_elements", "patient",
                 "_typeFilter", "includeAssociatedData", "organizeOutputBy", "allowPartialManifests", "foo", "resourceTypes"]:
        values = dict(COMMON_BAD)
        if name in ("_since", "_until"):
            values.update(BAD_INSTANTS)
        values.update(PER_PARAMETER_BAD.get(name, {}))
        if name in ACCEPTS_TYPES_AND_ELEMENT_NAMES:
            values.pop("spaces")  # blank items are skipped: `_type=%20%20` is `_type` omitted
        if name == "_elements":
            values.pop("boolean"), values.pop("null")  # `true` and `null` are well-formed element names
        for label, value in values.items():
            yield Case(f"kickoff-query {name}={label}", kickoff_get(ctx, f"{name}={value}".encode()))
    duplicates = {
        "_since-twice": "_since=2020-01-01T00:00:00Z&_since=2020-01-02T00:00:00Z",
        "_until-twice": "_until=2020-01-01T00:00:00Z&_until=2020-01-02T00:00:00Z",
        "_outputFormat-twice": "_outputFormat=ndjson&_outputFormat=ndjson",
        "exportType-differs": "exportType=hl7.fhir.us.davinci-atr&exportType=x",
        "_type-and-resourceTypes": "_type=Group,Patient,Coverage&resourceTypes=Group,Patient,Coverage",
        "since-after-until": "_since=2020-01-02T00:00:00Z&_until=2020-01-01T00:00:00Z",
        "future-since": "_since=2999-01-01T00:00:00Z",
        "many-unknown": "&".join(f"x{i}=1" for i in range(50)),
        "too-many-parameters": "&".join("_type=Group,Patient,Coverage" for _ in range(1001)),
        "huge-name": f"{HUGE}=1",
        "nul-name": "_type%00=Patient",
        "invalid-utf8-name": "%FF=1",
        "encoded-ampersand": "_since%3D2020-01-01T00:00:00Z%26x",
        "bare-percent-query": "%",
        "semicolon-separator": "_since=x;_until=y",
    }
    for label, query in duplicates.items():
        yield Case(f"kickoff-query {label}", kickoff_get(ctx, query.encode()))
    yield Case("kickoff-query raw-nul", kickoff_get(ctx, b"_type=Pat\x00ient"))
    yield Case("kickoff-query raw-invalid-utf8", kickoff_get(ctx, b"_type=\xff\xfe"))
    yield Case("kickoff-query raw-latin1", kickoff_get(ctx, b"_since=2020-01-01T00:00:00Z\xe9"))


# --- 2. Parameters bodies -------------------------------------------------------------------


def parameters_body_cases(ctx: Context) -> Iterator[Case]:
    not_objects = {
        "text": b"hello", "open-brace": b"{", "array": b"[]", "null": b"null", "number": b"1", "string": b'"x"',
        "true": b"true", "trailing-garbage": b'{"resourceType":"Parameters"}x', "two-documents": b'{"resourceType":"Parameters"}{}',
        "single-quotes": b"{'resourceType':'Parameters'}", "comment": b'{"resourceType":"Parameters"/*c*/}',
        "trailing-comma": b'{"resourceType":"Parameters","parameter":[],}', "bom": b'\xef\xbb\xbf{"resourceType":"Parameters"}',
        "invalid-utf8": b'{"resourceType":"Parameters\xff"}', "nul-in-string": b'{"resourceType":"Param\x00eters"}',
        "raw-newline-in-string": b'{"resourceType":"Para\nmeters"}', "lone-surrogate": b'{"resourceType":"\\ud800"}',
        "nan": b'{"resourceType":"Parameters","parameter":[{"name":"x","valueDecimal":NaN}]}',
        "huge-number": b'{"resourceType":"Parameters","parameter":[{"name":"_since","valueInteger":1e999999}]}',
        "deep-10000": b"[" * 10_000 + b"]" * 10_000,
        "deep-objects-10000": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        "deep-unclosed": b"[" * 100_000,
        "many-values": b"[" + b",".join(b"0" for _ in range(600_000)) + b"]",
        "duplicate-keys": b'{"resourceType":"Parameters","resourceType":"Parameters"}',
        "empty-object": b"{}",
    }
    for label, body in not_objects.items():
        yield Case(f"parameters-body {label}", kickoff_post(ctx, body))
    wrong_types = {
        "resourceType-patient": {"resourceType": "Patient"}, "resourceType-number": {"resourceType": 1},
        "resourceType-null": {"resourceType": None}, "resourceType-lowercase": {"resourceType": "parameters"},
        "no-resourceType": {"parameter": []}, "parameter-object": {"resourceType": "Parameters", "parameter": {}},
        "parameter-string": {"resourceType": "Parameters", "parameter": "x"},
        "entry-string": {"resourceType": "Parameters", "parameter": ["x"]},
        "entry-null": {"resourceType": "Parameters", "parameter": [None]},
        "entry-no-name": {"resourceType": "Parameters", "parameter": [{"valueString": "Patient"}]},
        "entry-name-number": {"resourceType": "Parameters", "parameter": [{"name": 1, "valueString": "x"}]},
        "entry-name-empty": {"resourceType": "Parameters", "parameter": [{"name": "", "valueString": "x"}]},
        "entry-with-part": {"resourceType": "Parameters", "parameter": [{"name": "_type", "part": []}]},
        "entry-with-resource": {"resourceType": "Parameters", "parameter": [{"name": "_type", "resource": {"resourceType": "Patient"}}]},
    }
    for label, value in wrong_types.items():
        yield Case(f"parameters-body {label}", kickoff_post(ctx, json.dumps(value).encode()))
    value_x = {
        "_since": [("valueInteger", 1), ("valueBoolean", True), ("valueString", "x"), ("valueDate", "2020-01-01"),
                   ("valueInstant", 5), ("valueInstant", "2020"), ("valueReference", {"reference": "x"}), ("valueCode", "x")],
        "_until": [("valueInteger", 1), ("valueString", "yesterday"), ("valueInstant", None)],
        "_type": [("valueInteger", 1), ("valueBoolean", False), ("valueCode", 7), ("valueString", "Observation"),
                  ("valueString", ["Patient"]), ("valueReference", {"reference": "Patient"})],
        "_outputFormat": [("valueString", "text/csv"), ("valueInteger", 3), ("valueCode", {})],
        "exportType": [("valueString", "x"), ("valueCanonical", 1), ("valueUri", "urn:x")],
        "_elements": [("valueString", "Patient.name.given"), ("valueInteger", 1)],
        "patient": [("valueString", "Patient/patient-alice"), ("valueReference", {}), ("valueReference", {"reference": 5}),
                    ("valueReference", {"reference": ""}), ("valueReference", "Patient/x"), ("valueReference", None)],
        "_typeFilter": [("valueString", "Patient?active=true")],
        "unknown": [("valueString", "x")],
    }
    for name, variants in value_x.items():
        for index, (key, value) in enumerate(variants):
            body = parameters({"name": name, key: value})
            yield Case(f"parameters-body {name} {key} #{index}", kickoff_post(ctx, body))
    patient = {"name": "patient", "valueReference": {"reference": "Patient/patient-alice"}}
    extra = {
        "100000-parameters": parameters(*([{"name": "foo"}] * 100_000)),
        "1001-patients": parameters(*[{"name": "patient", "valueReference": {"reference": f"Patient/p{i}"}} for i in range(1001)]),
        "multi-megabyte": parameters({"name": "foo", "valueString": "x" * 3_000_000}),
        "since-twice": parameters({"name": "_since", "valueInstant": "2020-01-01T00:00:00Z"},
                                  {"name": "_since", "valueInstant": "2020-01-02T00:00:00Z"}),
        "query-and-body": None,
        "patient-with-unknown": parameters(patient, {"name": "foo", "valueString": "x"}),
    }
    for label, body in extra.items():
        if body is None:
            request = kickoff_post(ctx, parameters(patient))
            request.target += b"?_type=Patient"
        else:
            request = kickoff_post(ctx, body)
        yield Case(f"parameters-body {label}", request)
    content_types = {
        "text-plain": b"text/plain", "form": b"application/x-www-form-urlencoded", "xml": b"application/fhir+xml",
        "multipart": b"multipart/form-data; boundary=x", "garbage": b"\x01\x02", "huge": b"application/" + b"x" * 5000,
        "empty": b"",
    }
    for label, content_type in content_types.items():
        yield Case(f"parameters-content-type {label}", kickoff_post(ctx, parameters(patient), content_type=content_type))
    yield Case("parameters-content-type missing", kickoff_post(ctx, parameters(patient), content_type=None))


# --- 3. headers -----------------------------------------------------------------------------


def header_cases(ctx: Context) -> Iterator[Case]:
    kickoff = f"{ctx.base_path}/Group/{SUNRISE}/$davinci-data-export".encode()
    accepts = {"missing": None, "html": b"text/html", "xml": b"application/fhir+xml", "q0": b"application/fhir+json;q=0",
               "empty": b"", "garbage": b"\x01\x02\x03", "comma-only": b",,,", "star-q0": b"*/*;q=0",
               "64kb": b"application/fhir+json," + b"a" * 65_536}
    for label, accept in accepts.items():
        headers = [(b"Prefer", b"respond-async")] + ([(b"Accept", accept)] if accept is not None else [])
        yield Case(f"header accept-{label}", RawRequest(b"GET", kickoff, headers + ctx.auth()))
    prefers = {"missing": None, "empty": b"", "sync": b"respond-sync", "garbage": b"\xff\xfe", "typo": b"respond-asnyc",
               "only-lenient": b"handling=lenient", "64kb": b"respond-async, " + b"x" * 65_536}
    for label, prefer in prefers.items():
        headers = [(b"Accept", b"application/fhir+json")] + ([(b"Prefer", prefer)] if prefer is not None else [])
        yield Case(f"header prefer-{label}", RawRequest(b"GET", kickoff, headers + ctx.auth()))
    post = f"{ctx.base_path}/Group/{SUNRISE}/$davinci-data-export".encode()
    body = parameters({"name": "foo", "valueString": "x"})
    lying = {
        "length-shorter": [(b"Content-Length", str(len(body) - 10).encode())],
        "length-not-a-number": [(b"Content-Length", b"abc")],
        "length-negative": [(b"Content-Length", b"-1")],
        "length-twice-differing": [(b"Content-Length", str(len(body)).encode()), (b"Content-Length", b"3")],
        "length-huge": [(b"Content-Length", b"99999999999999999999")],
        "length-and-chunked": [(b"Content-Length", str(len(body)).encode()), (b"Transfer-Encoding", b"chunked")],
        "transfer-encoding-unknown": [(b"Transfer-Encoding", b"gzip")],
    }
    for label, headers in lying.items():
        request = RawRequest(b"POST", post, KICKOFF_HEADERS + ctx.auth() + [(b"Content-Type", b"application/fhir+json")] + headers, body)
        yield Case(f"header {label}", request)
    # The promised body never comes: nothing can be answered, nginx closes after client_body_timeout.
    request = RawRequest(b"POST", post, KICKOFF_HEADERS + ctx.auth() + [(b"Content-Type", b"application/fhir+json"),
                                                                        (b"Content-Length", str(len(body) + 10).encode())], body)
    yield Case("header length-longer", request, "closed")
    absurd = {
        "64kb-header": [(b"X-Padding", b"x" * 65_536)],
        "many-headers": [(f"X-H{i}".encode(), b"1") for i in range(2000)],
        "header-with-nul": [(b"X-Bad", b"a\x00b")],
        "header-name-space": [(b"Bad Name", b"1")],
        "authorization-twice": ctx.auth(),
    }
    for label, headers in absurd.items():
        yield Case(f"header {label}", RawRequest(b"GET", kickoff, KICKOFF_HEADERS + ctx.auth() + headers))
    yield Case("header host-missing-http11", RawRequest(b"GET", f"{ctx.base_path}/metadata".encode(), [(b"Host", b"")]))
    yield Case("header host-twice", RawRequest(b"GET", f"{ctx.base_path}/metadata".encode(), [(b"Host", b"a"), (b"Host", b"b")]))
    request_lines = {
        "version-9": (b"GET", b"HTTP/9.9"), "version-garbage": (b"GET", b"HTTX/1.1"),
        "method-lowercase": (b"get", b"HTTP/1.1"), "method-unknown": (b"FOO", b"HTTP/1.1"),
        "method-long": (b"G" * 5000, b"HTTP/1.1"), "method-patch": (b"PATCH", b"HTTP/1.1"),
        "method-options": (b"OPTIONS", b"HTTP/1.1"), "method-trace": (b"TRACE", b"HTTP/1.1"),
        "method-connect": (b"CONNECT", b"HTTP/1.1"),
    }
    for label, (method, version) in request_lines.items():
        yield Case(f"request-line {label}", RawRequest(method, kickoff, KICKOFF_HEADERS + ctx.auth(), version=version))
    yield Case("request-line uri-64kb", RawRequest(b"GET", kickoff + b"?_type=" + b"a" * 65_536, KICKOFF_HEADERS + ctx.auth()))


# --- 4. ids and paths on every route --------------------------------------------------------

BAD_SEGMENTS = {
    "dotdot": b"..", "encoded-dotdot": b"%2e%2e", "encoded-slash": b"a%2fb", "nul": b"a%00b", "raw-nul": b"a\x00b",
    "unicode": "é李".encode(), "encoded-unicode": b"%C3%A9", "invalid-utf8": b"%FF", "raw-invalid-utf8": b"\xff",
    "10kb": LONG_ID.encode(), "percent": b"%", "space": b"a%20b", "backslash": b"a%5Cb", "star": b"*",
    "dollar-unknown": b"$nope", "65-chars": b"a" * 65, "underscore": b"a_b",
}


def path_cases(ctx: Context) -> Iterator[Case]:
    routes = {
        "read-group": lambda s: b"/Group/" + s,
        "read-patient": lambda s: b"/Patient/" + s,
        "type": lambda s: b"/" + s,
        "history": lambda s: b"/Group/" + s + b"/_history",
        "vread": lambda s: b"/Group/" + SUNRISE.encode() + b"/_history/" + s,
        "kickoff": lambda s: b"/Group/" + s + b"/$davinci-data-export",
        "status": lambda s: b"/$exportstatus?_id=" + s,
        "operation": lambda s: b"/Group/" + SUNRISE.encode() + b"/" + s,
        "audit-event": lambda s: b"/AuditEvent/" + s,
        "attribution-status": lambda s: b"/Group/" + s + b"/$attribution-status",
    }
    kickoff_routes = {"kickoff"}
    for route, build in routes.items():
        for label, segment in BAD_SEGMENTS.items():
            if label in ("dotdot", "encoded-dotdot") and route in ("type", "vread", "operation"):
                # nginx resolves dot segments (RFC 3986 §5.2.4) before routing: these become other,
                # well-formed URLs (`/fhir/Group/x/_history/..` is `/fhir/Group/x/`).
                continue
            extra = KICKOFF_HEADERS[1:] if route in kickoff_routes else []
            yield Case(f"path {route} {label}", get(ctx, build(segment), extra))
    for label, segment in BAD_SEGMENTS.items():
        yield Case(f"path files {label}", RawRequest(b"GET", b"/files/" + segment + b"/content.ndjson?md5=x&expires=1", ctx.auth()))
        yield Case(f"path files-task {label}", RawRequest(b"GET", b"/files/" + segment, ctx.auth()))
    files_tricks = {
        "no-signature": b"/files/t/contentPatient.ndjson", "bad-signature": b"/files/t/contentPatient.ndjson?md5=AAAA&expires=9999999999",
        "expired": b"/files/t/contentPatient.ndjson?md5=AAAA&expires=1", "expires-garbage": b"/files/t/x?md5=A&expires=x",
        "traversal": b"/files/../db/atr.sqlite", "encoded-traversal": b"/files/%2e%2e/db/atr.sqlite",
        "double-slash": b"//files//t//x", "query-only": b"/files/?md5=x", "huge-query": b"/files/t/x?md5=" + b"A" * 10_000,
        "post": None,
    }
    for label, target in files_tricks.items():
        if target is None:
            yield Case(f"path files {label}", RawRequest(b"POST", b"/files/t/contentPatient.ndjson", ctx.auth(), b"x"))
        else:
            yield Case(f"path files {label}", RawRequest(b"GET", target, ctx.auth()))
    outside = {"root": b"/", "dotdot-root": b"/fhir/../etc/passwd", "unknown": b"/nope", "fhirx": b"/fhirx/metadata",
               "auth-unknown": b"/auth/nope", "no-slash": b"fhir/metadata", "asterisk": b"*",
               "absolute-uri-unknown-path": b"https://evil.example/nope"}
    for label, target in outside.items():
        yield Case(f"path outside {label}", RawRequest(b"GET", target, ctx.auth()))


# --- 5. bearer tokens ----------------------------------------------------------------------


def token_cases(ctx: Context) -> Iterator[Case]:
    now = int(time.time())
    header, payload, signature = ctx.token.split(".")
    tokens = {
        "truncated": ctx.token[:-10], "no-signature": f"{header}.{payload}.", "two-parts": f"{header}.{payload}",
        "four-parts": ctx.token + ".x", "signature-flipped": f"{header}.{payload}.{signature[::-1]}",
        "payload-swapped": f"{header}.{base64.urlsafe_b64encode(b'{}').decode().rstrip('=')}.{signature}",
        "other-key": ctx.other_key_token, "alg-none": ctx.none_token, "hs384-public-key": ctx.hs384_token,
        "garbage": "garbage", "empty-parts": "..", "non-base64": "!!!.@@@.###", "huge": "a" * 20_000,
        "wrong-typ": ctx.forge(header={"typ": "at+jwt-not"}), "wrong-kid": ctx.forge(header={"kid": "nope"}),
        "no-kid": ctx.forge(header={"kid": None}), "expired": ctx.forge(exp=now - 3600, iat=now - 3900),
        "not-yet-valid": ctx.forge(nbf=now + 3600), "issued-in-future": ctx.forge(iat=now + 3600, exp=now + 3900),
        "wrong-aud": ctx.forge(aud="https://evil.example/fhir"), "wrong-iss": ctx.forge(iss="https://evil.example/auth"),
        "no-exp": ctx.forge(exp=None), "exp-string": ctx.forge(exp="tomorrow"), "lifetime-too-long": ctx.forge(exp=now + 86_400),
        "unknown-client": ctx.forge(client_id="nobody", sub="nobody"), "scope-empty": ctx.forge(scope=""),
        "scope-garbage": ctx.forge(scope="\u0000\u0001"),
    }
    for label, token in tokens.items():
        yield Case(f"token {label}", RawRequest(b"GET", f"{ctx.base_path}/Group/{SUNRISE}".encode(),
                                                [(b"Accept", b"application/fhir+json"), (b"Authorization", b"Bearer " + token.encode())]))
    schemes = {"basic": b"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "bearer-empty": b"Bearer ", "bearer-only": b"Bearer",
               "lowercase-no-space": b"bearer" + ctx.token.encode(), "two-tokens": b"Bearer a, Bearer b",
               "nul": b"Bearer a\x00b", "empty": b""}
    for label, value in schemes.items():
        yield Case(f"token scheme-{label}", RawRequest(b"GET", f"{ctx.base_path}/Group/{SUNRISE}".encode(),
                                                      [(b"Accept", b"application/fhir+json"), (b"Authorization", value)]))
    yield Case("token missing", RawRequest(b"GET", f"{ctx.base_path}/Group/{SUNRISE}".encode(), [(b"Accept", b"application/fhir+json")]))


# --- 6. token endpoint ---------------------------------------------------------------------

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_endpoint_cases(ctx: Context) -> Iterator[Case]:
    good = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": ctx.client_assertion(), "scope": "system/Group.read"}

    def form(**overrides: str | None) -> bytes:
        fields = {**good, **overrides}
        return urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None}).encode()

    def post(body: bytes, content_type: bytes = b"application/x-www-form-urlencoded", method: bytes = b"POST") -> RawRequest:
        return RawRequest(method, b"/auth/token", [(b"Content-Type", content_type), (b"Accept", b"application/json")], body)

    now = int(time.time())
    variants = {
        "no-grant-type": form(grant_type=None), "grant-password": form(grant_type="password"), "grant-empty": form(grant_type=""),
        "no-assertion-type": form(client_assertion_type=None), "assertion-type-wrong": form(client_assertion_type="urn:x"),
        "no-assertion": form(client_assertion=None), "assertion-garbage": form(client_assertion="garbage"),
        "assertion-truncated": form(client_assertion=good["client_assertion"][:-5]),
        "assertion-alg-none": form(client_assertion=ctx.none_token), "assertion-expired": form(client_assertion=ctx.client_assertion(exp=now - 600)),
        "assertion-exp-far": form(client_assertion=ctx.client_assertion(exp=now + 3600)),
        "assertion-wrong-aud": form(client_assertion=ctx.client_assertion(aud="https://evil.example/token")),
        "assertion-iss-sub-differ": form(client_assertion=ctx.client_assertion(sub="someone-else")),
        "assertion-unknown-client": form(client_assertion=ctx.client_assertion(iss="nobody", sub="nobody")),
        "assertion-no-jti": form(client_assertion=ctx.client_assertion(jti=None)),
        "assertion-huge": form(client_assertion="a" * 100_000), "scope-garbage": form(scope="\u0001\u0002"),
        "scope-unknown": form(scope="user/Patient.read"), "scope-huge": form(scope="system/Patient.read " * 5000),
        "scope-empty": form(scope=""), "scope-unserved-type": form(scope="system/Observation.read"),
        "grant-twice": form() + b"&grant_type=client_credentials", "assertion-twice": form() + b"&client_assertion=x",
        "bad-percent": b"grant_type=%ZZ", "nul": b"grant_type=client%00credentials", "invalid-utf8": b"grant_type=%FF%FE",
        "empty-body": b"", "just-ampersands": b"&&&&", "no-equals": b"grant_type", "huge-field-name": HUGE.encode() + b"=1",
    }
    for label, body in variants.items():
        yield Case(f"token-endpoint {label}", post(body), "oauth")
    yield Case("token-endpoint json-body", post(json.dumps(good).encode(), b"application/json"), "oauth")
    yield Case("token-endpoint no-content-type", RawRequest(b"POST", b"/auth/token", [], form()), "oauth")
    yield Case("token-endpoint get", RawRequest(b"GET", b"/auth/token?" + form(), []), "oauth")
    yield Case("token-endpoint put", post(form(), method=b"PUT"), "oauth")
    yield Case("token-endpoint multipart", post(form(), b"multipart/form-data; boundary=x"), "oauth")


# --- 7. REST bodies ------------------------------------------------------------------------


def rest_body_cases(ctx: Context) -> Iterator[Case]:
    def put(path: str, body: bytes, content_type: bytes = b"application/fhir+json") -> RawRequest:
        return RawRequest(b"PUT", (ctx.base_path + path).encode(),
                          [(b"Accept", b"application/fhir+json"), (b"Content-Type", content_type)] + ctx.auth(), body)

    def post(path: str, body: bytes) -> RawRequest:
        return RawRequest(b"POST", (ctx.base_path + path).encode(),
                          [(b"Accept", b"application/fhir+json"), (b"Content-Type", b"application/fhir+json")] + ctx.auth(), body)

    pid = "corpus-patient"
    bodies = {
        "huge-number": b'{"resourceType":"Patient","id":"corpus-patient","multipleBirthInteger":1e400}',
        "huge-integer": b'{"resourceType":"Patient","id":"corpus-patient","multipleBirthInteger":123456789012345678901234567890}',
        "deep-nesting": b'{"resourceType":"Patient","id":"corpus-patient","extension":' + b'[' * 5000 + b']' * 5000 + b'}',
        "duplicate-keys": b'{"resourceType":"Patient","id":"corpus-patient","active":true,"active":false}',
        "duplicate-resourceType": b'{"resourceType":"Patient","resourceType":"Group","id":"corpus-patient"}',
        "invalid-utf8": b'{"resourceType":"Patient","id":"corpus-patient","gender":"\xc3\x28"}',
        "overlong-utf8": b'{"resourceType":"Patient","id":"corpus-patient","gender":"\xc0\xaf"}',
        "nul": b'{"resourceType":"Patient","id":"corpus-patient","gender":"a\x00"}',
        "bom": b'\xef\xbb\xbf{"resourceType":"Patient","id":"corpus-patient"}',
        "trailing": b'{"resourceType":"Patient","id":"corpus-patient"} x',
        "array": b'[{"resourceType":"Patient","id":"corpus-patient"}]', "empty": b"", "null": b"null",
        "type-mismatch": b'{"resourceType":"Group","id":"corpus-patient"}',
        "id-mismatch": b'{"resourceType":"Patient","id":"other"}', "no-id": b'{"resourceType":"Patient"}',
        "id-number": b'{"resourceType":"Patient","id":7}', "id-10kb": b'{"resourceType":"Patient","id":"' + LONG_ID.encode() + b'"}',
        "unknown-type": b'{"resourceType":"Nope","id":"corpus-patient"}', "no-type": b'{"id":"corpus-patient"}',
        "bundle-not-storable": b'{"resourceType":"Bundle","id":"corpus-patient"}',
        "many-values": b'{"resourceType":"Patient","id":"corpus-patient","name":[' + b",".join(b'{"text":"x"}' for _ in range(1_200_000)) + b"]}",
        "unescaped-control": b'{"resourceType":"Patient","id":"corpus-patient","gender":"\x01"}',
        "bad-escape": b'{"resourceType":"Patient","id":"corpus-patient","gender":"\\x"}',
        "lone-surrogate": b'{"resourceType":"Patient","id":"corpus-patient","gender":"\\udc00"}',
        "leading-zero": b'{"resourceType":"Patient","id":"corpus-patient","multipleBirthInteger":01}',
        "plus-number": b'{"resourceType":"Patient","id":"corpus-patient","multipleBirthInteger":+1}',
    }
    for label, body in bodies.items():
        if label == "many-values" and len(body) > 2_097_152:
            body = body[:2_000_000] + b"]}"  # stays under RequestBodyLimit, so atr-fcgi itself must refuse it
        yield Case(f"rest-body put-patient {label}", put(f"/Patient/{pid}", body))
    yield Case("rest-body put-xml", put(f"/Patient/{pid}", b"<Patient/>", b"application/fhir+xml"))
    for label in ("huge-number", "duplicate-keys", "invalid-utf8", "deep-nesting", "array", "unknown-type"):
        yield Case(f"rest-body post-patient {label}", post("/Patient", bodies[label]))
    bundles = {
        "not-a-bundle": b'{"resourceType":"Patient"}', "type-missing": b'{"resourceType":"Bundle"}',
        "type-searchset": b'{"resourceType":"Bundle","type":"searchset"}',
        "entry-object": b'{"resourceType":"Bundle","type":"transaction","entry":{}}',
        "entry-no-request": b'{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}',
        "entry-bad-method": b'{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"FOO","url":"Patient"}}]}',
        "entry-traversal-url": b'{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"../Patient/x"}}]}',
        "entry-conditional": b'{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT","url":"Patient?identifier=x"},"resource":{"resourceType":"Patient"}}]}',
        "deep": b'{"resourceType":"Bundle","type":"batch","entry":' + b"[" * 3000 + b"]" * 3000 + b"}",
        "duplicate-keys": b'{"resourceType":"Bundle","type":"batch","type":"transaction"}',
    }
    for label, body in bundles.items():
        yield Case(f"rest-body bundle {label}", RawRequest(b"POST", ctx.base_path.encode(),
                   [(b"Accept", b"application/fhir+json"), (b"Content-Type", b"application/fhir+json")] + ctx.auth(), body))
    operations = {
        "member-add-text": (f"/Group/{SUNRISE}/$member-add", b"hello"),
        "member-add-deep": (f"/Group/{SUNRISE}/$member-add", b"[" * 4000 + b"]" * 4000),
        "member-add-wrong-type": (f"/Group/{SUNRISE}/$member-add", b'{"resourceType":"Patient"}'),
        "member-add-no-member": (f"/Group/{SUNRISE}/$member-add", parameters()),
        "member-remove-bad-value": (f"/Group/{SUNRISE}/$member-remove", parameters({"name": "memberId", "valueInteger": 1})),
        "confirm-text": (f"/Group/{SUNRISE}/$confirm-attribution-list", b"x"),
        "attribution-status-bad": (f"/Group/{SUNRISE}/$attribution-status", parameters({"name": "memberId", "valueString": "x"})),
    }
    for label, (path, body) in operations.items():
        yield Case(f"rest-body operation {label}", post(path, body))


GENERATORS = [kickoff_query_cases, parameters_body_cases, header_cases, path_cases, token_cases,
              token_endpoint_cases, rest_body_cases]


def corpus(ctx: Context) -> list[Case]:
    cases = [case for generator in GENERATORS for case in generator(ctx)]
    names = [case.name for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"corpus names must be unique: {sorted(duplicates)}"
    return cases
