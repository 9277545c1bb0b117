#!/usr/bin/env python3
"""A quality system's integration, written against a client generated from openapi.yaml.

Run by .ci/client-check with the generated package on the path. Every call goes through the
generated, typed functions; every response must parse into the declared model — a body the
contract does not describe fails here as it would fail an integrator.

usage: client-scenario.py BASE_URL
"""
import datetime
import sys

from samavvik_client import AuthenticatedClient, Client
from samavvik_client.api.avvik import (
    acknowledge_deviation, answer_deviation, close_deviation, comment_deviation, get_deviation,
    list_deviation_events, list_deviations, submit_deviation)
from samavvik_client.api.innlogging import create_token, me
from samavvik_client.api.katalog import list_assignees, list_categories, list_organisations
from samavvik_client.api.statistikk import get_report_csv, get_report_html, get_report_xlsx, get_stats
from samavvik_client.models import (
    AcknowledgeInput, AnswerInput, CommentInput, Deviation, DeviationKind, DeviationPage, Dimension,
    EventList, HarmClass, HarmLevel, NewDeviation, NoteInput, Problem, ProblemCode, Stats, Status,
    TokenRequest)
from samavvik_client.types import File

BASE = sys.argv[1]
steps = 0


def step(what, value, expected_type):
    """One call: its parsed result must be the declared model."""
    global steps
    assert isinstance(value, expected_type), f"{what}: got {type(value).__name__}: {value!r}"
    steps += 1
    print(f"ok {steps:2} {what}")
    return value


def login(email):
    anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)
    token = create_token.sync(client=anonymous, body=TokenRequest(email=email, password="samavvik-demo"))
    return AuthenticatedClient(base_url=BASE, token=token.access_token, raise_on_unexpected_status=True)


nurse = login("sykepleier@trondheim.example")
advisor = login("kvalitet@stolav.example")
analyst = login("analytiker@helsefellesskap.example")

hospital = next(o for o in step("list organisations", list_organisations.sync(client=nurse), object).items
                if o.kind.value == "hospital" and o.health_community_id)
category = step("list categories", list_categories.sync(client=nurse), object).items[0].code
form = NewDeviation(
    kind=DeviationKind.DEVIATION, category=category, recipient_organisation_id=hospital.id,
    occurred_at=(datetime.date.today() - datetime.timedelta(days=2)).isoformat(),
    description="Pasienten kom hjem uten epikrise og uten oppdatert legemiddelliste.",
    harm_class=HarmClass.HARM, harm_level=HarmLevel.LOW, handover_related=True)
sent = step("submit a deviation", submit_deviation.sync(client=nurse, body=form), Deviation)
assert sent.status == Status.SUBMITTED and sent.reference.startswith("SA-"), sent

wrong = NewDeviation.from_dict({**form.to_dict(), "harm_level": None})
refused = submit_deviation.sync_detailed(client=Client(base_url=BASE, headers={"authorization": f"Bearer {nurse.token}"}), body=wrong)
problem = step("a harm without its level is a typed problem", refused.parsed, Problem)
assert problem.code == ProblemCode.VALIDATION_FAILED and problem.fields[0].field == "harm_level", problem

page = step("list received, submitted or in progress", list_deviations.sync(
    client=advisor, status=[Status.SUBMITTED, Status.IN_PROGRESS]), DeviationPage)
assert any(d.id == sent.id for d in page.items), "the new case is in the advisor's list"

organisation = me.sync(client=advisor).organisation.id
people = step("whom the advisor can assign", list_assignees.sync(organisation, client=advisor), object).items
handler = next(p for p in people if p.role.value == "handler")
taken = step("acknowledge with a handler", acknowledge_deviation.sync(
    sent.id, client=advisor, body=AcknowledgeInput(handler_id=handler.id, note="Mottatt.")), Deviation)
assert taken.status == Status.IN_PROGRESS and taken.handler.id == str(handler.id), taken
step("comment", comment_deviation.sync(sent.id, client=nurse, body=CommentInput(text="Takk.")), object)
answered = step("answer", answer_deviation.sync(
    sent.id, client=advisor, body=AnswerInput(answer="Rutinen for epikrise er gjennomgått med posten.")), Deviation)
assert answered.status == Status.ANSWERED
closed = step("close", close_deviation.sync(sent.id, client=nurse, body=NoteInput()), Deviation)
assert closed.status == Status.CLOSED
events = step("timeline", list_deviation_events.sync(sent.id, client=nurse), EventList)
assert [e.kind.value for e in events.items][:2] == ["submitted", "acknowledged"], events
step("read back", get_deviation.sync(sent.id, client=nurse), Deviation)

tertial = f"{datetime.date.today().year}-T{(datetime.date.today().month - 1) // 4 + 1}"
stats = step("statistics by category", get_stats.sync(
    client=analyst, period=tertial, group_by=[Dimension.CATEGORY, Dimension.DIRECTION]), Stats)
assert stats.total >= 1 and all(g.key.category is not None for g in stats.groups if not g.suppressed), stats
html = step("report as HTML", get_report_html.sync(tertial, client=analyst), str)
assert "<html" in html.lower()
csv = step("report as CSV", get_report_csv.sync(tertial, client=analyst), str)
assert csv.startswith("tertial,"), csv[:40]
xlsx = step("report as XLSX", get_report_xlsx.sync(tertial, client=analyst), File)
assert xlsx.payload.read(2) == b"PK", "an XLSX is a zip"
print(f"{steps} steps, every response parsed as declared")
