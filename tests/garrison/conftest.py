"""A small, known set of findings on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from garrison.db import write_session
from garrison.findings.manual import add_manual
from garrison.models import Asset, Finding, Severity
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import POLICY, import_file

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@dataclass
class Known:
    settings: Settings
    ids: dict[str, int]
    """name -> finding id."""


def _manual(settings: Settings, name: str, ids: dict[str, int], *, unit: str = "hz-jw",
            severity: Severity = Severity.high, address: str | None = None,
            age_days: int = 0, owner: str | None = None, title: str | None = None) -> None:
    with write_session(settings) as session:
        finding = add_manual(session, unit_code=unit, title=title or name, severity=severity,
                             actor="tester", address=address, owner=owner,
                             now=NOW - timedelta(days=age_days), policy=POLICY)
        assert finding.id is not None
        ids[name] = finding.id


@pytest.fixture
def known(settings: Settings) -> Known:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    with write_session(settings) as session:
        from sqlmodel import select

        from garrison.models import Unit

        hz = session.exec(select(Unit).where(Unit.code == "hz-jw")).one()
        session.add(Asset(unit_id=hz.id or 0, address="127.0.1.10", protection_level=3,
                          first_seen=NOW, last_seen=NOW, last_observed=NOW))
        session.add(Asset(unit_id=hz.id or 0, address="127.0.1.11", first_seen=NOW,
                          last_seen=NOW, last_observed=NOW))
    ids: dict[str, int] = {}
    _manual(settings, "fresh-high", ids)  # due in 30 days
    _manual(settings, "old-high", ids, age_days=40)  # due 10 days ago: overdue
    _manual(settings, "old-low", ids, severity=Severity.low, age_days=40)  # 180 d: not overdue
    _manual(settings, "level3-critical", ids, severity=Severity.critical, address="127.0.1.10")
    _manual(settings, "plain-critical", ids, severity=Severity.critical, address="127.0.1.11")
    _manual(settings, "province-medium", ids, unit="zj-jst", severity=Severity.medium,
            age_days=100, owner="李娜")  # due 10 days ago
    _manual(settings, "formula", ids, title='=HYPERLINK("http://x","点我")',
            severity=Severity.info)
    return Known(settings, ids)


def finding(settings: Settings, fid: int) -> Finding:
    from garrison.db import read_session

    with read_session(settings) as session:
        row = session.get(Finding, fid)
        assert row is not None
        return row
