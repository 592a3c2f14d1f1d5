"""A pool of experts over the demo organisation, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from expert_pool.roster import import_roster
from expert_pool.roster_file import ExpertRecord, key_for
from garrison.db import write_session
from garrison.settings import Settings
from tests.garrison.helpers import load_demo_org


def rec(name: str, org: str = "浙江省网络安全协会", *, email: str | None = None,
        line: int = 2, **kw: Any) -> ExpertRecord:
    values: dict[str, Any] = {"home_unit": None, "city": "杭州", "skills": {},
                              "certifications": [], "phone": None, "languages": [],
                              "clearance": None, "notes": None, "active": True}
    values.update(kw)
    return ExpertRecord(line=line, key=key_for(name, org, email), name=name, organisation=org,
                        email=email, **values)


#: The pool the service tests share: ids follow this order (1..7).
POOL = [
    rec("张伟", email="zhang.wei@example.org", phone="13812345678", city="杭州",
        skills={"forensics": 3, "malware": 2}, certifications=[
            {"name": "CISP", "expires": "2028-06-30"}]),
    rec("李娜", email="li.na@example.org", phone="13987654321", city="宁波",
        skills={"forensics": 2, "malware": 1}, certifications=[
            {"name": "CISSP", "expires": None}, {"name": "OSCP", "expires": "2020-01-01"}]),
    rec("王强", "杭州市住房保障和房产管理局", email="wang.qiang@example.org",
        phone="13700001111", home_unit="hz-fg", skills={"forensics": 3, "network": 3}),
    rec("刘洋", "杭州市建设委员会", email="liu.yang@example.org", home_unit="hz-jw",
        skills={"forensics": 2, "web": 2}),
    rec("陈静", "浙江省建设厅", phone="0571-87654321", home_unit="zj-jst", city="杭州",
        skills={"forensics": 1, "opinion": 3, "legal": 2}),
    rec("赵敏", email="zhao.min@example.org", city="温州", skills={"web": 3, "cloud": 2},
        certifications=[{"name": "OSCP", "expires": "2029-01-01"}]),
    rec("周杰", email="zhou.jie@example.org", city="杭州", skills={"network": 2, "opinion": 1},
        active=False),
]


def _fill(settings: Settings) -> Settings:
    load_demo_org(settings)
    with write_session(settings) as session:
        import_roster(session, POOL, actor="setup", source="pool", now=settings.now())
    return settings


@pytest.fixture
def pool(settings: Settings) -> Settings:
    return _fill(settings)


@pytest.fixture
def sqlite_pool(sqlite_settings: Settings) -> Settings:
    return _fill(sqlite_settings)
