"""The roster: import, add, edit, retire, find and list experts; unavailability.

Every function works in the caller's session (one transaction per user action) and
records its audit event there. Audit payloads name experts by id and name only:
contact details never enter the tamper-evident trail, which auditors export.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from expert_pool import matching
from expert_pool.filters import ExpertFilter as ExpertFilter
from expert_pool.roster_file import ExpertRecord, key_for
from expert_pool.service_types import ExpertRetired
from garrison import audit
from garrison.errors import DocumentError, GarrisonError, NotFoundError, Problem
from garrison.i18n import _
from garrison.models import Assignment, Expert, Unavailability, Unit
from garrison.org.queries import suggest

#: Expert columns an import or ``edit`` may set, in display order.
FIELDS = ("name", "organisation", "home_unit_id", "city", "skills", "certifications",
          "clearance", "languages", "phone", "email", "active", "notes")


# ------------------------------------------------------------------ finding experts


def get_expert(session: Session, ref: str) -> Expert:
    """An expert by id (``17``), key or e-mail, or a name that only one expert has."""
    ref = ref.strip()
    if ref.isdigit():
        found = session.get(Expert, int(ref))
        if found is not None:
            return found
    by_key = session.exec(select(Expert).where(Expert.key == ref.casefold())).first()
    if by_key is not None:
        return by_key
    named = session.exec(select(Expert).where(Expert.name == ref)).all()
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise GarrisonError(
            _("{n} experts are called {name}: {ids}").format(
                n=len(named), name=ref, ids=", ".join(f"#{e.id} ({e.organisation})"
                                                      for e in named)),
            hint=_("Name the expert by id, e.g. `garrison experts show {id}`.").format(
                id=named[0].id))
    names = session.exec(select(Expert.name)).all()
    raise NotFoundError(
        _("no expert {ref!r}{hint}").format(ref=ref, hint=suggest(ref, names)),
        hint=_("`garrison experts list` shows every expert with their id."))


def unit_codes(session: Session) -> dict[int, str]:
    return {uid: code for uid, code in session.exec(select(Unit.id, Unit.code)) if uid}


def open_loads(session: Session, ids: Iterable[int] | None = None) -> dict[int, int]:
    """Open assignments per expert (their current load)."""
    query = (select(Assignment.expert_id, func.count())
             .where(col(Assignment.open).is_(True)).group_by(col(Assignment.expert_id)))
    if ids is not None:
        query = query.where(col(Assignment.expert_id).in_(list(ids)))
    return {eid: int(n) for eid, n in session.exec(query)}


def busy_at(session: Session, at: datetime, ids: Iterable[int] | None = None
            ) -> dict[int, Unavailability]:
    """Experts unavailable at ``at``: expert id -> the period."""
    query = (select(Unavailability).where(Unavailability.starts <= at, Unavailability.ends > at)
             .order_by(col(Unavailability.id)))  # the latest recorded wins, as in quick.py
    if ids is not None:
        query = query.where(col(Unavailability.expert_id).in_(list(ids)))
    return {u.expert_id: u for u in session.exec(query)}


# ------------------------------------------------------------------ import and edit


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    """Expert name -> the fields that changed."""
    unchanged: int = 0


def _resolve_units(session: Session, records: Sequence[ExpertRecord], file: str
                   ) -> dict[str, int]:
    codes = {code: uid for uid, code in unit_codes(session).items()}
    problems = [Problem(file, rec.line, _("home unit {u!r} is not a unit code{hint}").format(
                    u=rec.home_unit, hint=suggest(rec.home_unit, codes)))
                for rec in records if rec.home_unit and rec.home_unit not in codes]
    if problems:
        raise DocumentError(problems, hint=_(
            "Nothing was written. `garrison org list` shows the unit codes; fix the file "
            "and import it again."))
    return codes


def _values(rec: ExpertRecord, codes: dict[str, int]) -> dict[str, Any]:
    return {
        "name": rec.name, "organisation": rec.organisation,
        "home_unit_id": codes[rec.home_unit] if rec.home_unit else None,
        "city": rec.city, "skills": dict(rec.skills),
        "certifications": [dict(c) for c in rec.certifications],
        "clearance": rec.clearance, "languages": list(rec.languages),
        "phone": rec.phone, "email": rec.email, "active": rec.active, "notes": rec.notes,
    }


def import_roster(session: Session, records: Sequence[ExpertRecord], *, actor: str,
                  source: Path | str, now: datetime) -> ImportResult:
    """Add the new experts and update those already there (same key); one audit event,
    none when nothing changed.

    Unknown home-unit codes are all reported, with their lines, before anything is
    written."""
    codes = _resolve_units(session, records, str(source))
    existing = {e.key: e for e in session.exec(
        select(Expert).where(col(Expert.key).in_([r.key for r in records])))}
    result = ImportResult()
    for rec in records:
        values = _values(rec, codes)
        expert = existing.get(rec.key)
        if expert is None:
            session.add(Expert(key=rec.key, created_at=now, updated_at=now, **values))
            result.added.append(rec.name)
            continue
        changed = [name for name, value in values.items() if getattr(expert, name) != value]
        if not changed:
            result.unchanged += 1
            continue
        for name in changed:
            setattr(expert, name, values[name])
        expert.updated_at = now
        session.add(expert)
        result.updated[rec.name] = changed
    if not result.added and not result.updated:
        return result  # nothing happened, so nothing to audit (as `org import`)
    session.flush()
    audit.record(session, actor=actor, action="experts.imported", subject=f"file:{source}",
                 payload={"added": len(result.added), "updated": len(result.updated),
                          "unchanged": result.unchanged}, at=now)
    return result


def _unit_id(session: Session, code: str) -> int:
    codes = {c: uid for uid, c in unit_codes(session).items()}
    if code not in codes:
        raise NotFoundError(_("unknown unit {code!r}{hint}").format(
            code=code, hint=suggest(code, codes)),
            hint=_("`garrison org list` shows every unit code."))
    return codes[code]


def add_expert(session: Session, rec: ExpertRecord, *, actor: str, now: datetime) -> Expert:
    codes = {rec.home_unit: _unit_id(session, rec.home_unit)} if rec.home_unit else {}
    other = session.exec(select(Expert).where(Expert.key == rec.key)).first()
    if other is not None:
        raise GarrisonError(
            _("expert #{id} {name} already has this identity ({what})").format(
                id=other.id, name=other.name,
                what=_("the same e-mail") if rec.email else _("the same name and organisation")),
            hint=_("Change them with `garrison experts edit {id} ...`.").format(id=other.id))
    expert = Expert(key=rec.key, created_at=now, updated_at=now, **_values(rec, codes))
    session.add(expert)
    session.flush()
    audit.record(session, actor=actor, action="experts.added", subject=f"expert:{expert.id}",
                 payload={"name": expert.name, "organisation": expert.organisation}, at=now)
    return expert


def edit_expert(session: Session, ref: str, changes: dict[str, Any], *, actor: str,
                now: datetime) -> tuple[Expert, list[str]]:
    """Change some fields (``home_unit`` given as a code, ``None`` clears it)."""
    expert = get_expert(session, ref)
    changes = dict(changes)
    if "home_unit" in changes:
        code = changes.pop("home_unit")
        changes["home_unit_id"] = None if code is None else _unit_id(session, code)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not expert fields: {sorted(unknown)}")
    changed = [name for name, value in changes.items() if getattr(expert, name) != value]
    if not changed:
        return expert, []
    new_key = key_for(changes.get("name", expert.name),
                      changes.get("organisation", expert.organisation),
                      changes.get("email", expert.email))
    if new_key != expert.key:
        clash = session.exec(select(Expert).where(Expert.key == new_key)).first()
        if clash is not None and clash.id != expert.id:
            raise GarrisonError(_("expert #{id} {name} already has this identity").format(
                id=clash.id, name=clash.name))
        expert.key = new_key
    for name in changed:
        setattr(expert, name, changes[name])
    expert.updated_at = now
    session.add(expert)
    session.flush()
    audit.record(session, actor=actor, action="experts.edited", subject=f"expert:{expert.id}",
                 payload={"name": expert.name, "fields": changed}, at=now)
    return expert, changed


def retire_expert(session: Session, ref: str, *, actor: str, now: datetime,
                  reason: str | None = None) -> Expert:
    """Take an expert out of matching and rotations; their history stays."""
    expert = get_expert(session, ref)
    if not expert.active:
        assert expert.id is not None
        raise ExpertRetired(expert_id=expert.id, expert=expert.name, already=True)
    expert.active = False
    expert.updated_at = now
    session.add(expert)
    audit.record(session, actor=actor, action="experts.retired", subject=f"expert:{expert.id}",
                 payload={"name": expert.name, "reason": reason}, at=now)
    return expert


# ------------------------------------------------------------------ unavailability


def add_unavailability(session: Session, ref: str, *, starts: datetime, ends: datetime,
                       reason: str | None, actor: str, now: datetime) -> Unavailability:
    expert = get_expert(session, ref)
    if ends <= starts:
        raise GarrisonError(_("the period ends ({e}) before it starts ({s})").format(
            e=ends.isoformat(), s=starts.isoformat()))
    assert expert.id is not None
    period = Unavailability(expert_id=expert.id, starts=starts, ends=ends, reason=reason)
    session.add(period)
    session.flush()
    audit.record(session, actor=actor, action="experts.unavailable",
                 subject=f"expert:{expert.id}",
                 payload={"name": expert.name, "starts": starts.isoformat(),
                          "ends": ends.isoformat(), "reason": reason, "period": period.id},
                 at=now)
    return period


def remove_unavailability(session: Session, period_id: int, *, actor: str, now: datetime
                          ) -> Unavailability:
    period = session.get(Unavailability, period_id)
    if period is None:
        raise NotFoundError(_("no unavailability period #{id}").format(id=period_id),
                            hint=_("`garrison experts show EXPERT` lists an expert's periods."))
    session.delete(period)
    audit.record(session, actor=actor, action="experts.available_again",
                 subject=f"expert:{period.expert_id}", payload={"period": period_id}, at=now)
    return period


def periods_of(session: Session, expert_id: int) -> list[Unavailability]:
    return list(session.exec(select(Unavailability)
                             .where(Unavailability.expert_id == expert_id)
                             .order_by(col(Unavailability.starts))))


# ------------------------------------------------------------------ listing


@dataclass(frozen=True)
class ExpertLine:
    expert: Expert
    home_unit: str | None
    load: int
    away: Unavailability | None
    """The unavailability covering the filter's time (or now), if any."""


def list_experts(session: Session, f: ExpertFilter, *, now: datetime) -> list[ExpertLine]:
    at = f.available_at or now
    query = select(Expert)
    if not f.include_retired:
        query = query.where(col(Expert.active).is_(True))
    if f.city:
        query = query.where(Expert.city == f.city)
    # sorted here, not by the database: collations differ between backends
    experts = sorted(session.exec(query), key=lambda e: (e.name, e.id or 0))
    away = busy_at(session, at)
    loads = open_loads(session)
    codes = unit_codes(session)
    words = f.text.casefold().split() if f.text else []
    cert = f.cert.upper() if f.cert else None
    out = []
    for e in experts:
        if any(e.skills.get(s, 0) < level for s, level in f.skills):
            continue
        if f.available_at is not None and e.id in away:
            continue
        valid = matching.valid_certs(e.certifications, at.date())
        if cert and cert not in {c.upper() for c in valid}:
            continue
        if words and not all(w in f"{e.name} {e.organisation}".casefold() for w in words):
            continue
        assert e.id is not None
        out.append(ExpertLine(e, codes.get(e.home_unit_id) if e.home_unit_id else None,
                              loads.get(e.id, 0), away.get(e.id)))
    return out
