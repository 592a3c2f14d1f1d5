"""Times on the screens carry their zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tui.timefmt import zone_label, zoned

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "label"), [
    ("Asia/Shanghai", "UTC+8"), ("UTC", "UTC"), ("Asia/Kolkata", "UTC+5:30"),
    ("America/St_Johns", "UTC-3:30"), ("Europe/London", "UTC")])
def test_zone_labels(zone: str, label: str) -> None:
    assert zone_label(zone, AT) == label


def test_a_time_in_the_deployments_zone_says_which() -> None:
    assert zoned(AT, "Asia/Shanghai") == "2026-12-01 10:00 UTC+8"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert zoned(summer, "Europe/London") == "2026-07-01 13:00 UTC+1"
