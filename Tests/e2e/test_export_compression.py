"""Export files are compressed for clients that ask (Accept-Encoding: gzip) and served as they
are, with byte ranges, for those that do not."""
from __future__ import annotations

import gzip
import http.client
import ssl
import urllib.parse

import pytest

from export_support import export_get, generate_atr_group
from fhir_support import auth_headers, require_env
from security_support import atrctl


def raw_download(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A download whose body is left as it came (requests would decompress it)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                             context=ssl.create_default_context(cafile=require_env("ATR_CA")))
    try:
        connection.request("GET", parts.path + "?" + parts.query, headers={**auth_headers(), **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def patient_file_url(http, base, tmp_path_factory) -> str:
    generated = generate_atr_group(str(tmp_path_factory.mktemp("gzip")), "gzip-list", 300)
    atrctl("import", *generated.files)
    result = export_get(http, base, "gzip-list")
    [entry] = [e for e in result.manifest["output"] if e["type"] == "Patient"]
    return entry["url"]


def test_a_client_that_accepts_gzip_gets_the_file_compressed_to_a_quarter_or_less(patient_file_url):
    status, headers, plain = raw_download(patient_file_url, {})
    assert status == 200 and "content-encoding" not in headers, headers
    assert plain.count(b"\n") == 300
    status, headers, packed = raw_download(patient_file_url, {"Accept-Encoding": "gzip"})
    assert status == 200, headers
    assert headers.get("content-encoding") == "gzip" and "Accept-Encoding" in headers.get("vary", ""), headers
    assert headers.get("content-type", "").startswith("application/fhir+ndjson"), headers
    assert gzip.decompress(packed) == plain
    assert len(packed) <= len(plain) / 4, (len(packed), len(plain))


def test_byte_ranges_come_from_the_uncompressed_file(patient_file_url):
    _, _, plain = raw_download(patient_file_url, {})
    status, headers, part = raw_download(patient_file_url, {"Range": "bytes=100-199"})
    assert status == 206, headers
    assert part == plain[100:200]
    assert headers.get("content-range") == f"bytes 100-199/{len(plain)}", headers
    status, headers, _ = raw_download(patient_file_url, {"Range": f"bytes={len(plain) + 10}-"})
    assert status == 416, headers
