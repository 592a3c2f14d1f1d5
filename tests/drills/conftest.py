"""Drills run against the demo organisation (100 units, loopback scopes)."""

from __future__ import annotations

import pytest

from garrison.settings import Settings
from tests.garrison.helpers import load_demo_org


@pytest.fixture
def org(settings: Settings) -> Settings:
    """A migrated database (SQLite and PostgreSQL) holding the demo organisation."""
    load_demo_org(settings)
    return settings


@pytest.fixture
def sqlite_org(sqlite_settings: Settings) -> Settings:
    load_demo_org(sqlite_settings)
    return sqlite_settings
