"""SMART discovery: `{base}/.well-known/smart-configuration` and the CapabilityStatement's
`rest.security` — both answer without a token and advertise the built-in token endpoint."""
from __future__ import annotations

from fhir_support import describe, fhir_json
from security_support import (
    OAUTH_URIS_EXTENSION, base_url, get, token_url,
)


def test_smart_configuration_without_token_advertises_backend_services():
    resp = get(f"{base_url()}/.well-known/smart-configuration", headers={"Accept": "application/json"})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type") == "application/json", describe(resp)
    config = resp.json()
    assert config["token_endpoint"] == token_url(), describe(resp)
    assert config["grant_types_supported"] == ["client_credentials"], describe(resp)
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"], describe(resp)
    assert sorted(config["token_endpoint_auth_signing_alg_values_supported"]) == ["ES384", "RS384"], \
        describe(resp)
    scopes = config["scopes_supported"]
    assert isinstance(scopes, list) and all(isinstance(s, str) for s in scopes), describe(resp)
    for scope in ("system/*.read", "system/*.rs", "system/Group.read", "system/Patient.read",
                  "system/Coverage.read", "system/Patient.rs", "system/*.write"):
        assert scope in scopes, f"{scope} missing from scopes_supported\n{describe(resp)}"
    assert all(s.startswith("system/") for s in scopes), describe(resp)
    capabilities = config["capabilities"]
    for capability in ("client-confidential-asymmetric", "permission-v1", "permission-v2"):
        assert capability in capabilities, f"{capability} missing\n{describe(resp)}"


def test_capability_statement_without_token_names_the_token_endpoint():
    resp = get(f"{base_url()}/metadata")
    body = fhir_json(resp, 200)
    assert body["resourceType"] == "CapabilityStatement", describe(resp)
    security = body["rest"][0]["security"]
    extensions = [e for e in security.get("extension", []) if e.get("url") == OAUTH_URIS_EXTENSION]
    assert len(extensions) == 1, describe(resp)
    uris = {e["url"]: e.get("valueUri") for e in extensions[0]["extension"]}
    assert uris.get("token") == token_url(), describe(resp)
    codes = [c.get("code") for s in security.get("service", []) for c in s.get("coding", [])]
    assert "SMART-on-FHIR" in codes, describe(resp)


def test_discovered_token_endpoint_is_served_and_takes_only_post():
    config = get(f"{base_url()}/.well-known/smart-configuration").json()
    resp = get(config["token_endpoint"], headers={"Accept": "application/json"})
    assert resp.status_code == 405, describe(resp)
    assert resp.headers.get("Content-Type") == "application/json", describe(resp)
    assert resp.json()["error"] == "invalid_request", describe(resp)
