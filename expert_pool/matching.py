"""Matching experts to a need: rank the available, unconflicted ones; say why others are out.

The ranking, in order of importance:

1. **skill coverage**: the share of the requested skills held at the requested level
   or above (a skill held one level short counts a third, two levels short nothing:
   level 1 for a level-3 request is not coverage);
2. **proximity**: experts in the requested city first;
3. **current load**: fewer open assignments first;
4. **certifications**: more unexpired certifications first;

then the surplus of skill levels over the request, then name and id, so the order is
total and stable. ``rank`` is pure: the service loads candidates in three queries
(experts, open-assignment counts, unavailability at the time asked) and calls it.

Excluded, and listed with the reason under ``--explain``: anyone whose home unit is
the unit under review or under it (conflict of interest), anyone unavailable at the
time asked, retired experts. Experts with none of the requested skills are counted
but not listed: they are not candidates at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from expert_pool.masking import mask_email, mask_phone
from garrison.i18n import _


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    name: str
    organisation: str
    city: str | None
    skills: Mapping[str, int]
    certs: tuple[str, ...]
    """Unexpired certifications at the time asked."""
    load: int
    active: bool = True
    home_unit_id: int | None = None
    home_unit: str | None = None
    away: tuple[datetime, datetime, str | None] | None = None
    """The unavailability period covering the time asked, if any."""
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Need:
    skills: tuple[tuple[str, int], ...]
    city: str | None = None
    unit: str | None = None
    """The unit under review (its code), if any."""
    conflicted: frozenset[int] = frozenset()
    """Ids of that unit and every unit under it."""
    count: int = 5
    tz: str = "UTC"
    """The zone times in reasons are written in."""


@dataclass(frozen=True, slots=True)
class Match:
    candidate: Candidate
    coverage: float
    """0..1: the share of the requested skills covered."""
    covered: tuple[str, ...]
    short: tuple[str, ...]
    """Requested skills held below the level asked, or not at all."""
    same_city: bool
    surplus: int

    def sort_key(self) -> tuple[float, int, int, int, int, str, int]:
        c = self.candidate
        return (-round(self.coverage, 6), 0 if self.same_city else 1, c.load, -len(c.certs),
                -self.surplus, c.name, c.id)


@dataclass(frozen=True, slots=True)
class Excluded:
    candidate: Candidate
    reasons: tuple[str, ...]


@dataclass
class MatchResult:
    ranked: list[Match]
    """The best ``count`` candidates, best first."""
    excluded: list[Excluded]
    considered: int
    """Experts looked at (the whole roster)."""
    unqualified: int
    """Experts with none of the requested skills."""
    eligible: int = 0
    """Candidates who could be chosen (before cutting to ``count``)."""
    notes: list[str] = field(default_factory=list)


def valid_certs(certs: Sequence[dict[str, Any]] | None, on: date) -> list[str]:
    """Certification names that have not expired on ``on``."""
    out = []
    for cert in certs or []:
        expires = cert.get("expires")
        if expires is None or date.fromisoformat(str(expires)) >= on:
            out.append(str(cert["name"]))
    return out


def coverage(skills: Mapping[str, int], need: Sequence[tuple[str, int]]
             ) -> tuple[float, tuple[str, ...], tuple[str, ...], int]:
    """(share covered, skills covered, skills short, level surplus)."""
    if not need:
        return 1.0, (), (), sum(skills.values())
    score = 0.0
    covered, short, surplus = [], [], 0
    for skill, level in need:
        held = skills.get(skill, 0)
        if held >= level:
            score += 1
            covered.append(skill)
            surplus += held - level
        else:
            if held and held == level - 1:
                score += 1 / 3
            short.append(skill)
    return score / len(need), tuple(covered), tuple(short), surplus


def _has_any(skills: Mapping[str, int], need: Sequence[tuple[str, int]]) -> bool:
    return not need or any(skills.get(s, 0) > 0 for s, _level in need)


def exclusion_reasons(c: Candidate, need: Need) -> list[str]:
    reasons = []
    if not c.active:
        reasons.append(_("retired"))
    if c.home_unit_id is not None and c.home_unit_id in need.conflicted:
        if c.home_unit == need.unit:
            reasons.append(_("conflict of interest: works for {u}, the unit under review")
                           .format(u=c.home_unit))
        else:
            reasons.append(_("conflict of interest: works for {h}, which is under {u}")
                           .format(h=c.home_unit, u=need.unit))
    if c.away is not None:
        starts, ends, why = c.away
        zone = ZoneInfo(need.tz)
        reasons.append(_("unavailable {s} to {e}{why}").format(
            s=starts.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            e=ends.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            why=f" ({why})" if why else ""))
    return reasons


def rank(candidates: Sequence[Candidate], need: Need, *, skipped: int = 0) -> MatchResult:
    """Rank ``candidates``; ``skipped`` more experts were already found to hold none of
    the requested skills (they are counted as unqualified)."""
    ranked: list[Match] = []
    excluded: list[Excluded] = []
    unqualified = skipped
    same = need.city.casefold() if need.city else None
    for c in candidates:
        if not _has_any(c.skills, need.skills):
            unqualified += 1
            continue
        reasons = exclusion_reasons(c, need)
        if reasons:
            excluded.append(Excluded(c, tuple(reasons)))
            continue
        share, covered, short, surplus = coverage(c.skills, need.skills)
        ranked.append(Match(c, share, covered, short,
                            same is not None and (c.city or "").casefold() == same, surplus))
    ranked.sort(key=Match.sort_key)
    excluded.sort(key=lambda x: (x.candidate.name, x.candidate.id))
    result = MatchResult(ranked[:need.count], excluded, len(candidates) + skipped, unqualified,
                         eligible=len(ranked))
    if ranked and ranked[0].coverage < 1:
        result.notes.append(_("nobody available covers every requested skill; the best "
                              "partial matches are shown"))
    return result


def masked(result: MatchResult) -> MatchResult:
    """``result`` with every candidate's phone and e-mail masked (a result is shown
    unmasked only to an authorised actor, and audited)."""

    def mask(c: Candidate) -> Candidate:
        return replace(c, phone=mask_phone(c.phone), email=mask_email(c.email))

    return replace(result, ranked=[replace(m, candidate=mask(m.candidate)) for m in result.ranked],
                   excluded=[replace(x, candidate=mask(x.candidate)) for x in result.excluded],
                   notes=list(result.notes))
