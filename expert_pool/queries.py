"""Reads the expert pool's screens need besides the roster: what inputs complete, the
saved on-call plans. Each works in the caller's session (``expert_pool.service`` opens it).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from expert_pool.service_types import PlanInfo
from garrison.models import Expert, OnCallPlan, Unit


def unit_code_list(session: Session) -> list[str]:
    """Every unit code, sorted."""
    return list(session.exec(select(Unit.code).order_by(col(Unit.code))))


def expert_cities(session: Session) -> list[str]:
    """The cities the experts live in, sorted, each once."""
    return sorted({c for c in session.exec(select(Expert.city)) if c})


def plan_info(plan: OnCallPlan) -> PlanInfo:
    assert plan.id is not None
    return PlanInfo(id=plan.id, starts=plan.starts, ends=plan.ends, per_shift=plan.per_shift,
                    request=dict(plan.request), spread=dict(plan.spread), actor=plan.actor,
                    created_at=plan.created_at)


def saved_plans(session: Session) -> list[PlanInfo]:
    """Every saved on-call plan, earliest first."""
    return [plan_info(p) for p in session.exec(select(OnCallPlan)
                                               .order_by(col(OnCallPlan.starts)))]
