"""The scope guard: the only road to the network.

Every scan, probe and drill action asks ``authorize`` first. A target is allowed
only when every address it stands for lies inside the unit's *active* authorised
scopes (valid today). Refusals are written to the audit trail, and they are
committed even though the action that asked is stopped.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import netaddr
from sqlmodel import Session, col, select

from garrison import audit
from garrison.db import write_session
from garrison.errors import DatabaseBusy, NotFoundError, ScopeRefused
from garrison.i18n import _, ngettext
from garrison.matcher import ScopeMatcher
from garrison.models import Scope, Unit
from garrison.org.queries import get_unit, subtree_ids
from garrison.settings import Settings
from garrison.targets import Resolver, Target, TargetError, parse_target, shown, target_record


class ScopeState(enum.StrEnum):
    active = "active"
    expired = "expired"
    pending = "pending"
    """Not valid yet (valid_from is in the future)."""


def scope_state(scope: Scope, today: date) -> ScopeState:
    if scope.valid_from is not None and today < scope.valid_from:
        return ScopeState.pending
    if scope.valid_until is not None and today > scope.valid_until:
        return ScopeState.expired
    return ScopeState.active


@dataclass(frozen=True)
class ScopeView:
    """A scope as shown to users and recorded with a verdict."""

    unit: str
    cidr: str
    authorized_by: str
    valid_from: date | None
    valid_until: date | None
    max_rate: int | None
    state: ScopeState

    def label(self) -> str:
        until = f" until {self.valid_until}" if self.valid_until else ""
        return f"{self.cidr} [{self.authorized_by}{until}]"

    def as_json(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "cidr": self.cidr,
            "authorized_by": self.authorized_by,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "max_rate": self.max_rate,
            "state": self.state.value,
        }


def _view(scope: Scope, unit_code: str, today: date) -> ScopeView:
    return ScopeView(unit_code, scope.cidr, scope.authorized_by, scope.valid_from,
                     scope.valid_until, scope.max_rate, scope_state(scope, today))


@dataclass(frozen=True)
class Verdict:
    """The guard's answer for one target."""

    unit: str
    target: str
    allowed: bool
    reason: str
    covering: tuple[ScopeView, ...] = ()
    parsed: Target | None = field(default=None, repr=False)

    @property
    def rate_cap(self) -> int | None:
        """The lowest ``max_rate`` of the scopes the target falls in, if any."""
        caps = [s.max_rate for s in self.covering if s.max_rate is not None]
        return min(caps) if caps else None

    def as_json(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "target": self.target,
            "allowed": self.allowed,
            "reason": self.reason,
            "scopes": [s.as_json() for s in self.covering],
            "addresses": self.parsed.size if self.parsed else 0,
            "resolved": list(self.parsed.resolved) if self.parsed else [],
            "rate_cap": self.rate_cap,
        }


_GUARD_TOKEN = object()


@dataclass(frozen=True)
class Approval:
    """Proof that the guard allowed a set of addresses for a unit.

    Scanners and probes take an ``Approval``, never raw targets, and only
    ``authorize`` can make one, so nothing reaches the network without passing the
    guard. ``addresses`` are the judged addresses (hostnames already resolved).
    """

    unit: str
    addresses: netaddr.IPSet
    rate_cap: int | None
    verdicts: tuple[Verdict, ...]
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _GUARD_TOKEN:
            raise TypeError("an Approval is made only by garrison.scope.authorize")

    @property
    def size(self) -> int:
        return int(self.addresses.size)

    def cidrs(self) -> list[str]:
        """The approved addresses as CIDR strings (IPv4 first), for a scanner."""
        return [str(c) for c in self.addresses.iter_cidrs()]

    def contains(self, address: str) -> bool:
        return address in self.addresses

    def restricted_to(self, cidrs: Sequence[str]) -> Approval:
        """The part of this approval inside ``cidrs`` (an approval can only shrink)."""
        subset = self.addresses & netaddr.IPSet(cidrs)
        return Approval(self.unit, subset, self.rate_cap, self.verdicts, _GUARD_TOKEN)


def list_scopes(session: Session, *, unit_code: str | None = None, today: date,
                include_sub_units: bool = True) -> list[ScopeView]:
    query = select(Scope, Unit.code).join(Unit, col(Scope.unit_id) == col(Unit.id))
    if unit_code is not None:
        unit = get_unit(session, unit_code)
        ids = subtree_ids(session, unit) if include_sub_units else [unit.id]
        query = query.where(col(Scope.unit_id).in_(ids))
    rows = session.exec(query.order_by(col(Unit.code), col(Scope.cidr))).all()
    return [_view(scope, code, today) for scope, code in rows]


def _describe(ipset: netaddr.IPSet, limit: int = 3) -> str:
    cidrs = [str(c) for c in ipset.iter_cidrs()]
    shown = ", ".join(cidrs[:limit])
    return shown + (_(" and {n} more ranges").format(n=len(cidrs) - limit)
                    if len(cidrs) > limit else "")


def _judge(session: Session, unit: Unit, target: Target, today: date) -> Verdict:
    scopes = [_view(s, unit.code, today)
              for s in session.exec(select(Scope).where(Scope.unit_id == unit.id)).all()]
    active = [s for s in scopes if s.state is ScopeState.active]
    active_set = netaddr.IPSet([s.cidr for s in active])
    what = target.text if not target.resolved else f"{target.text} ({', '.join(target.resolved)})"
    if target.addresses.issubset(active_set):
        covering = tuple(s for s in active if (netaddr.IPSet([s.cidr]) & target.addresses).size)
        reason = ngettext("{what} is inside scope {scopes}", "{what} is inside scopes {scopes}",
                          len(covering)).format(what=what,
                                                scopes="; ".join(s.label() for s in covering))
        return Verdict(unit.code, target.text, True, reason, covering, target)
    outside = target.addresses - active_set
    if target.size == 1:
        reason = _("{what} is outside the active scopes of {unit}").format(
            what=what, unit=unit.code)
    else:
        reason = _("{what} is outside the active scopes of {unit}: {n} of its {total} "
                   "addresses are not authorised ({out})").format(
            what=what, unit=unit.code, n=outside.size, total=target.size,
            out=_describe(outside))
    for scope in scopes:
        if scope.state is ScopeState.active or not (netaddr.IPSet([scope.cidr]) & outside).size:
            continue
        if scope.state is ScopeState.expired:
            reason += _("; {cidr} ({by}) expired on {day}").format(
                cidr=scope.cidr, by=scope.authorized_by, day=scope.valid_until)
        else:
            reason += _("; {cidr} ({by}) is valid only from {day}").format(
                cidr=scope.cidr, by=scope.authorized_by, day=scope.valid_from)
    if not active:
        reason += _("; {unit} has no active scope").format(unit=unit.code)
    else:
        reason += _(" (active: {scopes})").format(scopes="; ".join(s.label() for s in active))
    others = _units_covering(session, target.addresses, today, exclude=unit.code)
    if others:
        reason += _(" — authorised for {units}: did you mean --unit {first}?").format(
            units=", ".join(others), first=others[0])
    return Verdict(unit.code, target.text, False, reason, (), target)


def _units_covering(session: Session, addresses: netaddr.IPSet, today: date, *,
                    exclude: str) -> list[str]:
    per_unit: dict[str, netaddr.IPSet] = {}
    for scope, code in session.exec(select(Scope, Unit.code).join(
            Unit, col(Scope.unit_id) == col(Unit.id))).all():
        if code != exclude and scope_state(scope, today) is ScopeState.active:
            per_unit.setdefault(code, netaddr.IPSet()).add(scope.cidr)
    return sorted(code for code, ipset in per_unit.items() if addresses.issubset(ipset))


def units_containing(session: Session, addresses: netaddr.IPSet, *, today: date,
                     exclude: str) -> list[tuple[str, int]]:
    """Other units whose active scopes contain some of ``addresses``, with how many, most
    first (an import for the wrong unit names the right one)."""
    per_unit: dict[str, netaddr.IPSet] = {}
    for scope, code in session.exec(select(Scope, Unit.code).join(
            Unit, col(Scope.unit_id) == col(Unit.id))).all():
        if code != exclude and scope_state(scope, today) is ScopeState.active:
            per_unit.setdefault(code, netaddr.IPSet()).add(scope.cidr)
    counts = [(code, (ipset & addresses).size) for code, ipset in per_unit.items()]
    return sorted(((c, n) for c, n in counts if n), key=lambda item: (-item[1], item[0]))


def check_target(session: Session, *, unit_code: str, target: str, actor: str,
                 now: datetime, today: date, resolver: Resolver | None = None) -> Verdict:
    """Judge one target for one unit on ``today`` (the deployment's local date); a refusal
    is recorded at ``now`` in the caller's transaction."""
    quoted = shown(target)
    try:
        unit = get_unit(session, unit_code)
    except NotFoundError as exc:
        verdict = Verdict(unit_code, quoted, False, exc.message)
    else:
        try:
            parsed = parse_target(target, resolver=resolver)
        except TargetError as exc:
            verdict = Verdict(unit_code, quoted, False, str(exc))
        else:
            verdict = _judge(session, unit, parsed, today)
    if not verdict.allowed:
        audit.record(session, actor=actor, action="scope.refused",
                     subject=f"target:{quoted}",
                     payload={"unit": unit_code, **target_record(target),
                              "reason": verdict.reason}, at=now)
    return verdict


def check_targets(session: Session, *, unit_code: str, targets: Sequence[str], actor: str,
                  now: datetime, today: date, resolver: Resolver | None = None
                  ) -> list[Verdict]:
    return [check_target(session, unit_code=unit_code, target=t, actor=actor, now=now,
                         today=today, resolver=resolver) for t in targets]


def authorize(settings: Settings, *, unit_code: str, targets: Sequence[str],
              resolver: Resolver | None = None) -> Approval:
    """Allow every target or refuse the whole request (``ScopeRefused``).

    The verdicts (and any refusal's audit event) are committed in their own
    transaction first, so a refused request leaves its trace even though it stops.
    Scopes are judged on the deployment's local date (``settings.clock``).
    """
    try:
        with write_session(settings) as session:
            verdicts = check_targets(session, unit_code=unit_code, targets=targets,
                                     actor=settings.actor, now=settings.now(),
                                     today=settings.today(), resolver=resolver)
    except DatabaseBusy as exc:
        raise guard_busy(exc) from exc
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        raise ScopeRefused(
            "\n".join(_("refused {t!r} for {u}: {r}").format(t=v.target, u=v.unit, r=v.reason)
                      for v in refused),
            hint=_("Nothing was sent. `garrison scope list --unit {u}` shows what {u} "
                   "authorised.").format(u=unit_code),
        )
    addresses = netaddr.IPSet()
    for verdict in verdicts:
        assert verdict.parsed is not None
        addresses |= verdict.parsed.addresses
    caps = [v.rate_cap for v in verdicts if v.rate_cap is not None]
    return Approval(unit_code, addresses, min(caps) if caps else None, tuple(verdicts),
                    _GUARD_TOKEN)


def guard_busy(exc: DatabaseBusy) -> DatabaseBusy:
    """The guard judges and records in one transaction: no record, no verdict."""
    return DatabaseBusy(
        _("the scope guard could not judge and record the targets: {why}; nothing was "
          "sent").format(why=exc.message), hint=exc.hint)


def unit_matcher(session: Session, unit: Unit, *, today: date) -> ScopeMatcher:
    """A matcher for the unit's active scopes on ``today``."""
    scopes = session.exec(select(Scope).where(Scope.unit_id == unit.id)).all()
    return ScopeMatcher([s.cidr for s in scopes if scope_state(s, today) is ScopeState.active])
