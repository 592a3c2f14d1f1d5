"""The finding lifecycle: every allowed and refused move, requirements, SLA, expiry."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from garrison.db import read_session, write_session
from garrison.errors import GarrisonError, NotFoundError
from garrison.findings.lifecycle import (
    ALLOWED,
    TransitionRefused,
    add_note,
    assign,
    reopen_expired,
    set_status,
)
from garrison.findings.manual import add_manual
from garrison.findings.sla import SlaPolicy, due_at, policy_from
from garrison.models import AuditEvent, FindingEvent, FindingStatus, Severity
from tests.garrison.conftest import NOW, Known, finding
from tests.garrison.helpers import MAX_ACCEPT, POLICY

S = FindingStatus
ALL = list(S)
ALLOWED_PAIRS = [(a, b) for a in ALL for b in ALLOWED[a]]
REFUSED_PAIRS = [(a, b) for a in ALL for b in ALL if b not in ALLOWED[a] and a != b]
LATER = NOW + timedelta(days=1)


def _put(known: Known, fid: int, status: FindingStatus) -> None:
    """Bring a finding to ``status`` through allowed moves."""
    path = {S.open: [], S.in_progress: [S.in_progress], S.fixed: [S.fixed],
            S.verified: [S.fixed, S.verified], S.accepted_risk: [S.accepted_risk],
            S.false_positive: [S.false_positive]}[status]
    for step in path:
        _move(known, fid, step)


def _move(known: Known, fid: int, status: FindingStatus) -> None:
    extra: dict[str, Any] = {}
    if status in (S.accepted_risk, S.false_positive):
        extra["reason"] = "test"
    if status is S.accepted_risk:
        extra.update(until=NOW.date() + timedelta(days=30), approver="王强")
    with write_session(known.settings) as session:
        set_status(session, finding_id=fid, status=status, actor="tester", now=NOW,
                   policy=POLICY, max_acceptance_days=MAX_ACCEPT, **extra)


def _events(known: Known, fid: int) -> list[tuple[str, str | None, str, str | None]]:
    with read_session(known.settings) as session:
        return [(e.kind.value, e.from_status.value if e.from_status else None,
                 e.to_status.value, e.note)
                for e in session.exec(select(FindingEvent).where(FindingEvent.finding_id == fid)
                                      .order_by(col(FindingEvent.id))).all()]


def _audits(known: Known, action: str) -> list[dict[str, object]]:
    with read_session(known.settings) as session:
        return [json.loads(e.payload) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == action)
            .order_by(col(AuditEvent.seq))).all()]


@pytest.mark.parametrize(("start", "target"), ALLOWED_PAIRS,
                         ids=[f"{a.value}->{b.value}" for a, b in ALLOWED_PAIRS])
def test_every_allowed_move_is_recorded_twice(known: Known, start: FindingStatus,
                                              target: FindingStatus) -> None:
    fid = known.ids["fresh-high"]
    _put(known, fid, start)
    _move(known, fid, target)
    assert finding(known.settings, fid).status is target
    kind, old, new, _note = _events(known, fid)[-1]
    assert (kind, old, new) == ("status", start.value, target.value)
    last = _audits(known, "finding.status")[-1]
    assert (last["from"], last["to"]) == (start.value, target.value)


@pytest.mark.parametrize(("start", "target"), REFUSED_PAIRS,
                         ids=[f"{a.value}->{b.value}" for a, b in REFUSED_PAIRS])
def test_every_refused_move_says_what_is_allowed(known: Known, start: FindingStatus,
                                                 target: FindingStatus) -> None:
    fid = known.ids["fresh-high"]
    _put(known, fid, start)
    before = _events(known, fid)
    with pytest.raises(TransitionRefused) as err:
        _move(known, fid, target)
    assert err.value.message == (f"finding {fid} is {start.value}; it cannot move to "
                                 f"{target.value}")
    assert err.value.hint == (f"From {start.value} it can move to: "
                              f"{', '.join(s.value for s in ALLOWED[start])}.")
    assert finding(known.settings, fid).status is start and _events(known, fid) == before


def _set(known: Known, status: FindingStatus, **kwargs: object) -> None:
    with write_session(known.settings) as session:
        set_status(session, finding_id=known.ids["fresh-high"], status=status, actor="tester",
                   now=NOW, policy=POLICY, max_acceptance_days=MAX_ACCEPT,
                   **kwargs)  # type: ignore[arg-type]


REQUIREMENTS = [
    (S.accepted_risk, {}, "accepting a risk needs a reason, an approver and an expiry date; "
     "missing: a reason, an expiry date, an approver", ("reason", "until", "approver"), ()),
    (S.accepted_risk, {"reason": "r", "approver": "王强"}, "accepting a risk needs a reason, "
     "an approver and an expiry date; missing: an expiry date", ("until",), ()),
    (S.accepted_risk, {"reason": "r", "approver": "王强", "until": NOW.date()},
     "the acceptance must end after today (2026-11-26)", (), ()),
    (S.accepted_risk, {"reason": "r", "approver": "王强", "until": date(2028, 1, 1)},
     "an acceptance may run at most 365 days (until 2027-11-26); renew it later instead",
     (), ()),
    (S.false_positive, {}, "marking a false positive needs a reason", ("reason",), ()),
    (S.false_positive, {"reason": "   "}, "marking a false positive needs a reason",
     ("reason",), ()),
    (S.fixed, {"until": date(2027, 1, 1)},
     "an expiry date and an approver apply only to accepted_risk", (), ("until",)),
]


@pytest.mark.parametrize(("status", "kwargs", "message", "missing", "extra"), REQUIREMENTS)
def test_requirements_of_a_move(known: Known, status: FindingStatus, kwargs: dict[str, object],
                                message: str, missing: tuple[str, ...],
                                extra: tuple[str, ...]) -> None:
    """The refusal carries what is missing or extra as data, and its text names no
    command-line flag (the CLI and the TUI phrase it for their users)."""
    with pytest.raises(TransitionRefused) as err:
        _set(known, status, **kwargs)
    assert err.value.message == message
    assert (err.value.missing, err.value.extra) == (missing, extra)
    assert "--" not in str(err.value)
    assert finding(known.settings, known.ids["fresh-high"]).status is S.open


def test_acceptance_is_recorded_with_its_terms(known: Known) -> None:
    _set(known, S.accepted_risk, reason="供应商补丁第三季度发布", approver="王强",
         until=date(2027, 3, 31))
    f = finding(known.settings, known.ids["fresh-high"])
    assert (f.accepted_until, f.accepted_by) == (date(2027, 3, 31), "王强")
    assert _events(known, known.ids["fresh-high"])[-1][3] == (
        "accepted until 2027-03-31, approved by 王强: 供应商补丁第三季度发布")


def test_sla_dates_by_severity_and_mlps(known: Known) -> None:
    high = finding(known.settings, known.ids["fresh-high"])
    assert high.due_at == NOW + timedelta(days=30)
    assert finding(known.settings, known.ids["plain-critical"]).due_at == NOW + timedelta(days=7)
    # the asset is MLPS level 3: 7 days x 0.5, rounded up
    assert finding(known.settings, known.ids["level3-critical"]).due_at == \
        NOW + timedelta(days=4)
    assert finding(known.settings, known.ids["formula"]).due_at is None  # info: no deadline
    custom = policy_from({"high": 10}, tighten_from=2, factor=0.3)
    assert due_at(Severity.high, NOW, 2, custom) == NOW + timedelta(days=3)
    assert due_at(Severity.high, NOW, 1, custom) == NOW + timedelta(days=10)
    assert due_at(Severity.critical, NOW, None, custom) == NOW + timedelta(days=7)
    assert SlaPolicy().describe().startswith("critical 7d, high 30d, medium 90d, low 180d")


def test_reopening_restarts_the_clock(known: Known) -> None:
    fid = known.ids["level3-critical"]
    _move(known, fid, S.fixed)
    with write_session(known.settings) as session:
        set_status(session, finding_id=fid, status=S.open, actor="tester",
                   now=NOW + timedelta(days=20), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    assert finding(known.settings, fid).due_at == NOW + timedelta(days=24)  # 20 + 4


def test_an_expired_acceptance_reopens_by_itself(known: Known) -> None:
    fid = known.ids["fresh-high"]
    _set(known, S.accepted_risk, reason="r", approver="王强", until=NOW.date() + timedelta(3))
    with write_session(known.settings) as session:
        assert reopen_expired(session, actor="tester", now=NOW + timedelta(days=3),
                              policy=POLICY) == []
        assert reopen_expired(session, actor="tester", now=NOW + timedelta(days=4),
                              policy=POLICY) == [fid]
    f = finding(known.settings, fid)
    assert (f.status, f.accepted_until, f.accepted_by) == (S.open, None, None)
    assert f.due_at == NOW + timedelta(days=34)  # the clock restarted on reopening
    assert _events(known, fid)[-1] == ("status", "accepted_risk", "open",
                                       "risk acceptance expired on 2026-11-29")
    assert _audits(known, "finding.acceptance_expired")[-1]["until"] == "2026-11-29"


def test_a_move_on_an_expired_acceptance_reopens_it_first(known: Known) -> None:
    fid = known.ids["fresh-high"]
    _set(known, S.accepted_risk, reason="r", approver="王强", until=NOW.date() + timedelta(3))
    with write_session(known.settings) as session:
        set_status(session, finding_id=fid, status=S.in_progress, actor="tester",
                   now=NOW + timedelta(days=10), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    assert [e[2] for e in _events(known, fid)][-2:] == ["open", "in_progress"]


@pytest.mark.parametrize("touch", ["assign", "note"])
def test_assigning_or_noting_an_expired_acceptance_reopens_it_first(known: Known,
                                                                     touch: str) -> None:
    fid = known.ids["fresh-high"]
    _set(known, S.accepted_risk, reason="r", approver="王强", until=NOW.date() + timedelta(3))
    later = NOW + timedelta(days=10)
    with write_session(known.settings) as session:
        if touch == "assign":
            assign(session, finding_id=fid, owner="张伟", actor="tester", now=later, policy=POLICY)
        else:
            add_note(session, finding_id=fid, text="复查", actor="tester", now=later, policy=POLICY)
    f = finding(known.settings, fid)
    assert (f.status, f.due_at) == (S.open, later + timedelta(days=30))
    assert [e[0:3] for e in _events(known, fid)][-2:] == [
        ("status", "accepted_risk", "open"), (touch, "open", "open")]


def test_assign_and_note_are_history_too(known: Known) -> None:
    fid = known.ids["fresh-high"]
    with write_session(known.settings) as session:
        assign(session, finding_id=fid, owner="张伟", actor="tester", note="运维组接手", now=NOW,
               policy=POLICY)
        add_note(session, finding_id=fid, text="已联系供应商", actor="tester", now=NOW,
                 policy=POLICY)
        with pytest.raises(GarrisonError, match="already owned by 张伟"):
            assign(session, finding_id=fid, owner="张伟", actor="tester", now=NOW, policy=POLICY)
        with pytest.raises(GarrisonError, match="the note is empty"):
            add_note(session, finding_id=fid, text="  ", actor="tester", now=NOW, policy=POLICY)
    assert finding(known.settings, fid).owner == "张伟"
    assert _events(known, fid)[-2:] == [
        ("assign", "open", "open", "owner 李娜 -> 张伟: 运维组接手"),
        ("note", "open", "open", "已联系供应商")]
    assert _audits(known, "finding.assigned")[-1]["to"] == "张伟"


def test_unknown_finding(known: Known) -> None:
    with pytest.raises(NotFoundError, match="no finding 999"), \
            write_session(known.settings) as session:
        set_status(session, finding_id=999, status=S.fixed, actor="tester", now=NOW,
                   policy=POLICY, max_acceptance_days=MAX_ACCEPT)


MANUAL_ERRORS = [
    ({"address": "127.0.1.99"}, "127.0.1.99 is not in the inventory of hz-jw"),
    ({"address": "nope"}, "'nope' is not an IP address"),
    ({"cvss": "CVSS:2.0/AV:N"}, "'CVSS:2.0/AV:N' is not a CVSS v3 vector"),
    ({"cwe": "79"}, "'79' is not a CWE id"),
    ({"port": 443}, "give both the protocol and the port, e.g. --port tcp/443"),
    ({"protocol": "tcp", "port": 70000}, "port 70000 is not between 1 and 65535"),
    ({"title": "  "}, "a finding needs a title"),
]


@pytest.mark.parametrize(("kwargs", "message"), MANUAL_ERRORS)
def test_manual_finding_errors(known: Known, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"unit_code": "hz-jw", "title": "t", "severity": Severity.low,
                               "actor": "tester", "now": NOW, "policy": POLICY, **kwargs}
    with pytest.raises(GarrisonError) as err, write_session(known.settings) as session:
        add_manual(session, **args)  # type: ignore[arg-type]
    assert err.value.message == message


def test_manual_finding_defaults_to_the_unit_officer(known: Known) -> None:
    f = finding(known.settings, known.ids["fresh-high"])
    assert (f.owner, f.source.value, f.rule_id) == ("李娜", "manual", "manual")
    assert f.fingerprint.startswith("manual|hz-jw|-|")
    assert _events(known, f.id or 0) == [("status", None, "open", "recorded by hand")]
