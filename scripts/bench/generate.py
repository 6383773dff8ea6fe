#!/usr/bin/env python3
"""Synthetic ATR data for `make bench` (README "Performance"), deterministic for a given N.

usage: generate.py DIR MEMBERS [GROUP_ID]

Writes DIR/resources.ndjson (provider directory, then per member a Patient, a Coverage with
Money fields — an extension valueMoney and costToBeneficiary valueMoney — and a RelatedPerson;
every 100th member also a global opt-out Consent: deny without the provider-access extension)
and DIR/group.ndjson (the ATR Group, loaded last so its members exist). Prints a JSON summary:
expected resource counts per type of a full 8-type export, and the resources written (imported).
Streams: memory does not grow with MEMBERS (1M members: about 2.3 GB of resources, a 0.5 GB Group).

Shaped after the e2e generator (Tests/e2e/export_support.py `generate_atr_group`), with
resources of realistic size and the ATR member extensions (coverageReference,
attributedProvider) so that every one of the eight types is exported.
"""
from __future__ import annotations

import json
import os
import sys

ATR = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition"
ATR_GROUP_PROFILE = f"{ATR}/atr-group"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OPT_OUT_EVERY = 100


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def money(text: str) -> str:
    """A placeholder replaced by a decimal literal (FHIR decimals keep their digits: 25.00)."""
    return f"@@MONEY:{text}@@"


def with_money(line: str) -> str:
    # '"@@MONEY:25.00@@"' -> 25.00
    out, start = [], 0
    while True:
        i = line.find('"@@MONEY:', start)
        if i < 0:
            out.append(line[start:])
            return "".join(out)
        j = line.index('@@"', i + 9)
        out.append(line[start:i])
        out.append(line[i + 9:j])
        start = j + 3


def directory_sizes(members: int) -> tuple[int, int]:
    """(provider organisations = locations, practitioners = roles): a provider directory that
    grows with the attribution list, but much more slowly."""
    return max(2, members // 5000), max(5, members // 500)


def provider_directory(members: int):
    orgs, practs = directory_sizes(members)
    yield {"resourceType": "Organization", "id": "bench-payer", "active": True,
           "identifier": [{"system": "http://example.org/naic-company-code", "value": "60054"}],
           "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                 "code": "pay", "display": "Payer"}]}],
           "name": "Bench Health Plan",
           "telecom": [{"system": "phone", "value": "+1-800-555-0100", "use": "work"}],
           "address": [{"use": "work", "line": ["100 Insurance Plaza"], "city": "Springfield",
                        "state": "IL", "postalCode": "62701", "country": "US"}]}
    for o in range(orgs):
        yield {"resourceType": "Organization", "id": f"bench-org{o}", "active": True,
               "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f"15{o:08d}"}],
               "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                     "code": "prov", "display": "Healthcare Provider"}]}],
               "name": f"Bench Medical Group {o}",
               "telecom": [{"system": "phone", "value": f"+1-217-555-{o % 10000:04d}", "use": "work"}],
               "address": [{"use": "work", "line": [f"{o + 1} Clinic Road"], "city": "Springfield",
                            "state": "IL", "postalCode": "62704", "country": "US"}]}
        yield {"resourceType": "Location", "id": f"bench-loc{o}", "status": "active",
               "name": f"Bench Medical Group {o} - Main Campus", "mode": "instance",
               "address": {"use": "work", "line": [f"{o + 1} Clinic Road"], "city": "Springfield",
                           "state": "IL", "postalCode": "62704", "country": "US"},
               "managingOrganization": {"reference": f"Organization/bench-org{o}"}}
    for p in range(practs):
        o = p % orgs
        yield {"resourceType": "Practitioner", "id": f"bench-pract{p}", "active": True,
               "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f"12{p:08d}"}],
               "name": [{"use": "official", "family": f"Doctor{p}", "given": ["Emily"],
                         "prefix": ["Dr."], "suffix": ["MD"]}],
               "telecom": [{"system": "phone", "value": f"+1-217-556-{p % 10000:04d}", "use": "work"}],
               "gender": "female"}
        yield {"resourceType": "PractitionerRole", "id": f"bench-role{p}", "active": True,
               "period": {"start": "2018-07-01"},
               "practitioner": {"reference": f"Practitioner/bench-pract{p}"},
               "organization": {"reference": f"Organization/bench-org{o}"},
               "location": [{"reference": f"Location/bench-loc{o}"}],
               "code": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role",
                                     "code": "doctor", "display": "Doctor"}]}],
               "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy",
                                          "code": "207Q00000X", "display": "Family Medicine Physician"}]}]}


def member_resources(n: int, members: int):
    orgs, practs = directory_sizes(members)
    pid, cid, rid = f"bench-p{n}", f"bench-c{n}", f"bench-r{n}"
    p, o = n % practs, n % orgs
    yield {"resourceType": "Patient", "id": pid, "active": True,
           "identifier": [{"use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MB",
                                                                 "display": "Member Number"}]},
                           "system": "http://example.org/bench-payer/member-id", "value": f"BENCH-{n:08d}"}],
           "name": [{"use": "official", "family": f"Member{n}", "given": ["Zoë", "Marie"]}],
           "telecom": [{"system": "phone", "value": f"+1-217-555-{n % 10000:04d}", "use": "home"}],
           "gender": "female" if n % 2 else "male", "birthDate": f"{1940 + n % 70}-0{1 + n % 9}-1{n % 10}",
           "address": [{"use": "home", "line": [f"{n} Maple Street"], "city": "Springfield",
                        "state": "IL", "postalCode": "62702", "country": "US"}],
           "generalPractitioner": [{"reference": f"Practitioner/bench-pract{p}"}],
           "managingOrganization": {"reference": f"Organization/bench-org{o}"}}
    yield {"resourceType": "Coverage", "id": cid,
           "extension": [{"url": "http://example.org/bench-payer/StructureDefinition/annual-premium",
                          "valueMoney": {"value": money(f"{7000 + n % 1000}.{n % 100:02d}"), "currency": "USD"}}],
           "identifier": [{"system": "http://example.org/bench-payer/policy-number", "value": f"BENCH-POL-{n:08d}"}],
           "status": "active",
           "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HMO",
                                "display": "health maintenance organization policy"}]},
           "policyHolder": {"reference": f"RelatedPerson/{rid}"},
           "subscriber": {"reference": f"RelatedPerson/{rid}"},
           "subscriberId": f"BENCH-SUB-{n:08d}",
           "beneficiary": {"reference": f"Patient/{pid}"},
           "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                                        "code": "spouse"}]},
           "period": {"start": "2026-01-01", "end": "2026-12-31"},
           "payor": [{"reference": "Organization/bench-payer", "display": "Bench Health Plan"}],
           "costToBeneficiary": [
               {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type",
                                     "code": "gpvisit"}]},
                "valueMoney": {"value": money("25.00"), "currency": "USD"}},
               {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type",
                                     "code": "emergency"}]},
                "valueMoney": {"value": money("150.10"), "currency": "USD"}}]}
    yield {"resourceType": "RelatedPerson", "id": rid, "active": True,
           "patient": {"reference": f"Patient/{pid}"},
           "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                         "code": "SPS", "display": "spouse"}]}],
           "name": [{"use": "official", "family": f"Member{n}", "given": ["Thomas"]}],
           "gender": "male" if n % 2 else "female", "birthDate": "1966-10-02"}
    if n % OPT_OUT_EVERY == OPT_OUT_EVERY - 1:
        # A global opt-out: a deny without the pdex-provider-access-use-case extension.
        yield {"resourceType": "Consent", "id": f"bench-optout{n}", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                     "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
               "patient": {"reference": f"Patient/{pid}"},
               "dateTime": "2026-01-02T00:00:00Z",
               "provision": {"type": "deny", "period": {"start": "2000-01-01"},
                             "action": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction",
                                                     "code": "disclose"}]}]}}


def group_member(n: int, members: int) -> dict:
    _, practs = directory_sizes(members)
    return {"extension": [
                {"url": f"{ATR}/ext-changeType", "valueCode": "nochange"},
                {"url": f"{ATR}/ext-coverageReference", "valueReference": {"reference": f"Coverage/bench-c{n}"}},
                {"url": f"{ATR}/ext-attributedProvider",
                 "valueReference": {"reference": f"PractitionerRole/bench-role{n % practs}"}}],
            "entity": {"reference": f"Patient/bench-p{n}"},
            "period": {"start": "2026-01-01", "end": "2026-12-31"}}


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 64
    directory, members = sys.argv[1], int(sys.argv[2])
    group_id = sys.argv[3] if len(sys.argv) == 4 else "bench-group"
    os.makedirs(directory, exist_ok=True)
    orgs, practs = directory_sizes(members)
    opted_out = members // OPT_OUT_EVERY   # n % OPT_OUT_EVERY == OPT_OUT_EVERY - 1
    written = 0
    with open(os.path.join(directory, "resources.ndjson"), "w", encoding="utf-8") as out:
        for resource in provider_directory(members):
            out.write(dumps(resource) + "\n")
            written += 1
        for n in range(members):
            for resource in member_resources(n, members):
                out.write(with_money(dumps(resource)) + "\n")
                written += 1
    with open(os.path.join(directory, "group.ndjson"), "w", encoding="utf-8") as out:
        head = dumps({"resourceType": "Group", "id": group_id,
                      "meta": {"profile": [ATR_GROUP_PROFILE]},
                      "identifier": [{"system": "http://example.org/bench-payer/attribution-lists",
                                      "value": f"bench-{members}"}],
                      "active": True, "type": "person", "actual": True,
                      "name": f"Bench ATR list of {members} members",
                      "managingEntity": {"reference": "Organization/bench-payer"}})
        out.write(head[:-1] + ',"member":[')
        for n in range(members):
            if n:
                out.write(",")
            out.write(dumps(group_member(n, members)))
        out.write("]}\n")
    exported = members - opted_out
    # The provider directory an export reaches is what exported members refer to: their
    # practitioners and roles (n % practs), their patients' organisations (n % orgs), and the
    # roles' organisations and locations (p % orgs). Where every member that refers to one opted
    # out, it is not exported (n % practs, n % orgs and n % OPT_OUT_EVERY repeat together).
    used_practs, used_orgs = set(), set()
    for n in range(members):
        if n % OPT_OUT_EVERY != OPT_OUT_EVERY - 1:
            used_practs.add(n % practs)
            used_orgs.add(n % orgs)
    used_locations = {p % orgs for p in used_practs}
    summary = {
        "members": members, "optedOut": opted_out, "groupId": group_id,
        "expected": {
            "Group": 1, "Patient": exported, "Coverage": exported, "RelatedPerson": exported,
            # Practitioners/roles reached by exported members (attributedProvider, generalPractitioner).
            "Practitioner": len(used_practs), "PractitionerRole": len(used_practs),
            # The payer (Coverage.payor) and the provider organisations reached.
            "Organization": len(used_orgs | used_locations) + 1, "Location": len(used_locations),
        },
        "consents": opted_out,
        # Every resource of resources.ndjson and group.ndjson: what `atrctl import` loads.
        "imported": written + 1,
    }
    print(dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
