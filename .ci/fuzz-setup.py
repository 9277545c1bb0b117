#!/usr/bin/env python3
"""Real ids for one role's schemathesis run (.ci/api-fuzz).

A schema can say that an id is a UUID, not that it names a row this caller may use; these values
let schema-valid requests be the ones a real client of this role would send, so the run can insist
on acceptance without 404 or 422. Prints them as shell assignments; schemathesis reads them from
the environment.

usage: fuzz-setup.py BASE_URL EMAIL
"""
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request

BASE, EMAIL = sys.argv[1:3]
PASSWORD = "samavvik-demo"


def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method)
    if token:
        req.add_header("authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, data) as resp:
        return json.load(resp)


def token(email):
    return call("POST", "/api/v1/auth/token", body={"email": email, "password": PASSWORD})["access_token"]


def mod11_org_number(n):
    """The n-th fictitious organisation number 98xxxxxx + check digit (never a seeded one)."""
    for k in range(10):
        digits = [int(c) for c in f"98{n * 10 + k:06d}"]
        rest = sum(d * w for d, w in zip(digits, [3, 2, 7, 6, 5, 4, 3, 2])) % 11
        check = 0 if rest == 0 else 11 - rest
        if check != 10:
            return "".join(map(str, digits)) + str(check)
    raise ValueError(n)


me_token = token(EMAIL)
me = call("GET", "/api/v1/me", me_token)
admin = token("admin@samavvik.example")
orgs = call("GET", "/api/v1/organisations", admin)["items"]
by_id = {o["id"]: o for o in orgs}
own = by_id[me["organisation"]["id"]]
community = own.get("health_community_id") or orgs[0]["health_community_id"]
peers = [o for o in orgs if o["health_community_id"] == community and o["id"] != own["id"] and o["units"]]
# The other side of a case: the hospital for a municipality, a municipality for the hospital.
other_kind = "municipality" if own["kind"] == "hospital" else "hospital"
recipient = next(o for o in peers if o["kind"] == other_kind)

# What admin operations may change without spoiling the other runs: an organisation, unit and
# user of their own.
suffix = EMAIL.split("@")[0].replace(".", "-")
scratch = call("POST", "/api/v1/organisations", admin, {
    "name": f"Fuzz {suffix}", "kind": "other", "org_number": mod11_org_number(int(hashlib.sha256(EMAIL.encode()).hexdigest(), 16) % 80000),
    "mailbox": f"fuzz-{suffix}@samavvik.example", "health_community_id": community})
unit = call("POST", f"/api/v1/organisations/{scratch['id']}/units", admin, {"name": "Fuzz-enhet"})
user = call("POST", "/api/v1/users", admin, {
    "name": "Fuzz Bruker", "email": f"fuzz-{suffix}@samavvik.example", "organisation_id": scratch["id"],
    "unit_id": unit["id"], "role": "reporter"})
people = call("GET", f"/api/v1/users?organisation_id={own['id']}", admin)["items"]
handlers = [p["id"] for p in people if p["active"] and p["role"] in ("handler", "quality_advisor")]

is_admin = me["role"] == "admin"
own_id = scratch["id"] if is_admin else own["id"]
# A machine client of the organisation the role works in, for the client operations' paths.
client = call("POST", f"/api/v1/organisations/{own_id}/clients", admin, {
    "name": "Fuzz-klient", "helseid_client_id": f"fuzz-{suffix}", "scopes": ["deviations:read"]})
# A webhook of that organisation and a delivery to redeliver (the live server sends none: its
# webhook worker is off).
# The runs before may have filled the organisation's ten with webhooks the fuzzer made.
hooks = call("GET", f"/api/v1/organisations/{own_id}/webhooks", admin)["items"]
hook = hooks[0] if hooks else call("POST", f"/api/v1/organisations/{own_id}/webhooks", admin, {
    "url": f"https://eqs.fuzz.example/{suffix}", "description": "Fuzz"})
delivery = call("POST", f"/api/v1/organisations/{own_id}/webhooks/{hook['id']}/test", admin, {})
# Where the role's organisation's change feed stands: a cursor is the server's to make.
try:
    feed_cursor = call("GET", "/api/v1/feed?limit=1", token(EMAIL))["next_cursor"]
except urllib.error.HTTPError:
    feed_cursor = ""
# An import to read back: a dry run of a one-row export writes no deviation.
one_row = "Id;Dato;Kategori;Fra;Til\nF-1;12.01.2026;Epikrise;Trondheim kommune;St. Olavs hospital HF\n"
mapping = """source_system = "Fuzz"
[columns]
source_id = "Id"
occurred_at = "Dato"
category = "Kategori"
reporting_organisation = "Fra"
recipient_organisation = "Til"
[categories]
Epikrise = "discharge_summary"
"""
dry_run = call("POST", "/api/v1/imports", admin, {
    "file_name": "fuzz.csv", "content": base64.b64encode(one_row.encode()).decode(), "mapping": mapping, "dry_run": True})
# A published learning note every person of the helsefellesskap may read: the demo's.
notes = call("GET", "/api/v1/learning-notes", token(EMAIL))["items"]
print(f"FUZZ_NOTE={notes[0]['id'] if notes else '00000000-0000-0000-0000-000000000000'}")
print(f"FUZZ_FEED_CURSOR={feed_cursor}")
print(f"FUZZ_IMPORT={dry_run['id']}")
print(f"FUZZ_OWN_ORGANISATION={own_id}")
print(f"FUZZ_CLIENT={client['id']}")
print(f"FUZZ_WEBHOOK={hook['id']}")
print(f"FUZZ_DELIVERY={delivery['id']}")
# A unit's own organisation number: a check digit is more than a pattern says; one per role run.
print(f"FUZZ_UNIT_ORG_NUMBER={mod11_org_number(80000 + int(hashlib.sha256(EMAIL.encode()).hexdigest(), 16) % 9000)}")
print(f"FUZZ_SCRATCH_ORGANISATION={scratch['id']}")
print(f"FUZZ_SCRATCH_UNIT={unit['id']}")
print(f"FUZZ_SCRATCH_USER={user['id']}")
print(f"FUZZ_COMMUNITY={community}")
print(f"FUZZ_RECIPIENT={recipient['id']}")
print(f"FUZZ_OWN_UNIT={unit['id'] if is_admin else (own['units'] or recipient['units'])[0]['id']}")
print(f"FUZZ_RECIPIENT_UNIT={recipient['units'][0]['id']}")
print(f"FUZZ_HANDLER={(handlers or [user['id']])[0]}")
print(f"FUZZ_ORG_NUMBER={mod11_org_number(90000)}")
print(f"FUZZ_ROLE={me['role']}")
print(f"FUZZ_ME={me['id']}")
