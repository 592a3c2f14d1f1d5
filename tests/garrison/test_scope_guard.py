"""The scope guard against a real database: allowed, refused, validity dates, audit."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import col, select

from garrison.db import read_session, write_session
from garrison.errors import ScopeRefused
from garrison.models import AuditEvent
from garrison.scope import ScopeState, authorize, check_target, list_scopes
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import import_file, load_demo_org

TODAY = date(2026, 11, 26)


def _check(settings: Settings, target: str, unit: str = "hz-jw", today: date = TODAY,
           resolver: object = None) -> tuple[bool, str]:
    with write_session(settings) as session:
        verdict = check_target(session, unit_code=unit, target=target, actor="tester",
                               now=settings.now(), today=today,
                               resolver=resolver)  # type: ignore[arg-type]
    return verdict.allowed, verdict.reason


def _refusals(settings: Settings) -> list[tuple[str, str]]:
    with read_session(settings) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "scope.refused")
                            .order_by(col(AuditEvent.seq))).all()
        return [(e.subject, e.payload) for e in rows]


@pytest.fixture
def org(settings: Settings) -> Settings:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    return settings


@pytest.mark.parametrize("target", ["127.0.1.10", "127.0.1.0/24", "127.0.1.1-20",
                                    "127.0.1.*", "127.0.1.0/25"])
def test_targets_inside_the_scope_are_allowed_and_name_it(org: Settings, target: str) -> None:
    allowed, reason = _check(org, target)
    assert allowed
    assert reason == f"{target} is inside scope 127.0.1.0/24 [HZ-2026-03]"
    assert _refusals(org) == []


# Each trick of the issue, with the exact reason the guard gives.
REFUSED = [
    ("127.0.1.1/0", "127.0.1.1/0 is outside the active scopes of hz-jw: 4294967040 of its "
     "4294967296 addresses are not authorised (0.0.0.0/2, 64.0.0.0/3, 96.0.0.0/4 and 21 more "
     "ranges) (active: 127.0.1.0/24 [HZ-2026-03])"),
    ("127.0.0.0/23", "127.0.0.0/23 is outside the active scopes of hz-jw: 256 of its 512 "
     "addresses are not authorised (127.0.0.0/24) (active: 127.0.1.0/24 [HZ-2026-03])"),
    ("127.0.0.8", "127.0.0.8 is outside the active scopes of hz-jw (active: 127.0.1.0/24 "
     "[HZ-2026-03]) — authorised for zj-jst: did you mean --unit zj-jst?"),
    ("2130706433", "'2130706433' is a legacy numeric form (integer, octal, hex or short) that "
     "the system reads as 127.0.0.1; write the address in dotted decimal: 127.0.0.1"),
    ("0177.0.1.1", "'0177.0.1.1' is a legacy numeric form (integer, octal, hex or short) that "
     "the system reads as 127.0.1.1; write the address in dotted decimal: 127.0.1.1"),
    ("::ffff:127.0.1.1", "'::ffff:127.0.1.1' embeds IPv4 host 127.0.1.1 (IPv4-mapped IPv6 "
     "address); use the IPv4 address under a scope that authorises it"),
    ("::ffff:10.0.0.1", "'::ffff:10.0.0.1' embeds IPv4 host 10.0.0.1 (IPv4-mapped IPv6 "
     "address); use the IPv4 address under a scope that authorises it"),
    ("-oN/etc/x", "'-oN/etc/x' starts with '-': a target cannot be a command-line option"),
    ("--script=vuln", "'--script=vuln' starts with '-': a target cannot be a command-line "
     "option"),
    ("10.0.0.1", "10.0.0.1 is outside the active scopes of hz-jw (active: 127.0.1.0/24 "
     "[HZ-2026-03])"),
]


@pytest.mark.parametrize(("target", "reason"), REFUSED)
def test_tricks_are_refused_and_every_refusal_is_audited(
    org: Settings, target: str, reason: str
) -> None:
    assert _check(org, target) == (False, reason)
    ((subject, payload),) = _refusals(org)
    assert subject == f"target:{target}"
    assert json.loads(payload) == {"unit": "hz-jw", "target": target, "reason": reason}


def test_hostname_must_resolve_entirely_inside(org: Settings) -> None:
    inside = lambda _name: ["127.0.1.5"]  # noqa: E731
    split = lambda _name: ["127.0.1.5", "127.0.0.9"]  # noqa: E731
    assert _check(org, "portal.hz.example", resolver=inside) == (
        True, "portal.hz.example (127.0.1.5) is inside scope 127.0.1.0/24 [HZ-2026-03]")
    assert _check(org, "portal.hz.example", resolver=split) == (
        False, "portal.hz.example (127.0.1.5, 127.0.0.9) is outside the active scopes of "
        "hz-jw: 1 of its 2 addresses are not authorised (127.0.0.9/32) (active: 127.0.1.0/24 "
        "[HZ-2026-03])")


def test_expired_and_not_yet_valid_scopes_refuse(org: Settings) -> None:
    # zj-jst's scope is valid until 2027-12-31 (inclusive)
    assert _check(org, "127.0.0.5", unit="zj-jst", today=date(2027, 12, 31))[0]
    assert _check(org, "127.0.0.5", unit="zj-jst", today=date(2028, 1, 1)) == (
        False, "127.0.0.5 is outside the active scopes of zj-jst; 127.0.0.0/24 "
        "(Letter 2026-17) expired on 2027-12-31; zj-jst has no active scope")


def test_not_yet_valid_scope(settings: Settings) -> None:
    load_demo_org(settings)  # zs-shengsi's authorisation starts on 2027-01-01
    assert _check(settings, "127.0.84.7", unit="zs-shengsi") == (
        False, "127.0.84.7 is outside the active scopes of zs-shengsi; 127.0.84.0/24 "
        "(ZS-SHENGSI-2026) is valid only from 2027-01-01; zs-shengsi has no active scope")
    assert _check(settings, "127.0.84.7", unit="zs-shengsi", today=date(2027, 1, 1))[0]


def test_unknown_unit_is_refused_with_a_suggestion(org: Settings) -> None:
    assert _check(org, "127.0.1.1", unit="hz-jx") == (
        False, "unknown unit 'hz-jx' (did you mean 'hz-jw'?)")
    assert _refusals(org)[0][0] == "target:127.0.1.1"


def test_scope_list_shows_states(settings: Settings) -> None:
    load_demo_org(settings)
    with read_session(settings) as session:
        states = {(s.unit, s.cidr): s.state for s in list_scopes(session, today=TODAY)}
        hz = list_scopes(session, unit_code="hz-jw", today=TODAY)
    assert states[("ls-yl", "127.0.96.0/24")] is ScopeState.expired
    assert states[("zs-shengsi", "127.0.84.0/24")] is ScopeState.pending
    assert states[("hz-jw", "127.0.1.0/24")] is ScopeState.active
    assert {s.unit for s in hz} == {"hz-jw", "hz-cg", "hz-gjj", "hz-fg", "hz-yl", "hz-xiaoshan",
                                    "hz-yuhang", "hz-tonglu", "hz-chunan"}


def test_authorize_refuses_the_whole_request_but_keeps_the_audit(org: Settings) -> None:
    with pytest.raises(ScopeRefused) as err:
        authorize(org, unit_code="hz-jw", targets=["127.0.1.5", "127.0.2.5"])
    assert str(err.value).startswith("refused '127.0.2.5' for hz-jw: 127.0.2.5 is outside")
    assert [s for s, _p in _refusals(org)] == ["target:127.0.2.5"]  # committed
    approval = authorize(org, unit_code="hz-jw", targets=["127.0.1.5", "127.0.1.6"])
    assert approval.cidrs() == ["127.0.1.5/32", "127.0.1.6/32"] and approval.size == 2


def test_only_the_guard_can_make_an_approval() -> None:
    import netaddr

    from garrison.scope import Approval

    with pytest.raises(TypeError, match="made only by garrison.scope.authorize"):
        Approval("hz-jw", netaddr.IPSet(["10.0.0.0/8"]), None, ())


def test_rate_cap_comes_from_the_scope(settings: Settings) -> None:
    load_demo_org(settings)
    approval = authorize(settings, unit_code="hz-gjj", targets=["127.0.17.0/28"])
    assert approval.rate_cap == 200 and approval.verdicts[0].rate_cap == 200
