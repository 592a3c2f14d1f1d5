"""Why an on-call request cannot be met, in words a coordinator can act on.

The planner asks here before it searches (``check``: everything that can be known
up front, each problem once) and when it is stuck on a shift (``shift_problems``,
``unstaffable``). The reasons name the shift (``shift 2026-12-03 08:00-20:00``), what
is missing (``nobody with forensics>=2 is free``) and who would have fitted but cannot
come, and why (``on leave: ...``, ``on an overlapping shift: ...``, or, with a rest
between shifts, ``on or resting from a nearby shift: ...``), at most five names at a
time. ``Infeasible`` (``expert_pool.rotation_model``) carries them to the user.

Pure: reads a ``PlanState``, changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from expert_pool.rotation_model import Infeasible
from expert_pool.rotation_shifts import shift_label
from expert_pool.rotation_state import PlanState
from garrison.i18n import _, ngettext

__all__ = ["check", "shift_problems", "unstaffable"]

_NAMES_SHOWN = 5


def check(state: PlanState) -> None:
    """Everything that can be known before planning, each problem once."""
    n = len(state.people)
    if state.k > n:
        raise Infeasible([
            ngettext("{k} person per shift needs at least {k} expert",
                     "{k} people per shift needs at least {k} experts", state.k).format(
                k=state.k) + "; " +
            ngettext("the pool has {n} active expert", "the pool has {n} active experts",
                     n).format(n=n)])
    reasons: list[str] = []
    for skill, level in state.reqs:
        if any(p.skills.get(skill, 0) >= level for p in state.people):
            continue
        holders = sorted((p for p in state.people if p.skills.get(skill, 0) > 0),
                         key=lambda p: (-p.skills[skill], p.name, p.id))
        if level == 1:
            reasons.append(_("nobody has {s} (required on every shift)").format(s=skill))
        elif not holders:
            reasons.append(_("nobody has {s} at level {v} or above (required on every "
                             "shift); nobody has {s} at all").format(s=skill, v=level))
        else:
            reasons.append(_("nobody has {s} at level {v} or above (required on every "
                             "shift); experts with {s}: {who}").format(
                s=skill, v=level, who=_names(
                    _("{name} (level {v})").format(name=p.name, v=p.skills[skill])
                    for p in holders)))
    if reasons:
        raise Infeasible(reasons)
    for position in range(len(state.shifts)):
        reasons.extend(shift_problems(state, position, state.available(position)))
    if reasons:
        raise Infeasible(reasons)


def shift_problems(state: PlanState, position: int, avail: list[int]) -> list[str]:
    """Why ``avail`` (the people free for the shift, less those on an overlapping
    shift) cannot fill the places left on it."""
    cands, need, uncovered = state.gap(position, avail)
    if len(cands) >= need and state.table(cands)[uncovered] <= need:
        return []
    label = _("shift {when}").format(when=shift_label(state.shifts[state.order[position]]))
    free = set(state.free[position])
    here = set(avail)
    members = set(state.crew[position])

    def why(wanted: int = 0) -> str:
        away = [p.name for i, p in enumerate(state.people)
                if i not in free and i not in members and state.mask[i] & wanted == wanted]
        busy = [p.name for i, p in enumerate(state.people)
                if i in free and i not in here and i not in members
                and state.mask[i] & wanted == wanted]
        parts = []
        if away:
            parts.append(_("on leave: {who}").format(who=_names(away)))
        if busy:
            parts.append((_("on or resting from a nearby shift: {who}") if state.resting
                          else _("on an overlapping shift: {who}")).format(
                who=_names(busy)))
        return f" ({'; '.join(parts)})" if parts else ""

    out: list[str] = []
    if not cands and need:
        out.append(_("{shift}: nobody is free{why}").format(shift=label, why=why()))
        return out
    if len(cands) < need:
        out.append(_("{shift}: only {n} of the {k} people needed are free{why}").format(
            shift=label, n=len(cands), k=need, why=why()))
    bits = [bit for bit in range(len(state.reqs)) if uncovered >> bit & 1]
    missing = False
    for bit in bits:
        if not any(state.mask[i] >> bit & 1 for i in cands):
            missing = True
            out.append(_("{shift}: nobody with {need} is free{why}").format(
                shift=label, need=_need_text(state, bit), why=why(1 << bit)))
    if not missing and len(cands) >= need:
        out.append(_("{shift}: no {k} free people together hold {needs}").format(
            shift=label, k=need, needs=", ".join(_need_text(state, bit) for bit in bits)))
    return out


def unstaffable(state: PlanState, position: int) -> Infeasible:
    """The refusal when the planner cannot staff the shift with the people left for it
    (``shift_problems``, or "no k free people can be found" when each is there but
    the shifts around it hold the ones it needs)."""
    avail = state.available(position)
    return Infeasible(shift_problems(state, position, avail) or [
        _("{shift}: no {k} free people can be found for it").format(
            shift=_("shift {when}").format(
                when=shift_label(state.shifts[state.order[position]])),
            k=state.k - len(state.crew[position]))])


def _need_text(state: PlanState, bit: int) -> str:
    skill, level = state.reqs[bit]
    return f"{skill}>={level}"


def _names(names: Iterable[str]) -> str:
    listed = list(names)
    shown = ", ".join(listed[:_NAMES_SHOWN])
    more = len(listed) - _NAMES_SHOWN
    if more > 0:
        shown += _(" and {n} more").format(n=more)
    return shown
