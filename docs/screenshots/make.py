"""Make the PNG screenshots of every screen on the pinned test province.

    .venv/bin/python docs/screenshots/make.py

Needs ``rsvg-convert`` (apt librsvg2-bin) and a CJK font (apt fonts-wqy-microhei).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

OUT = Path(__file__).resolve().parent
SHOTS = [("dashboard", ()), ("assets", ()), ("findings", ()), ("experts", ()),
         ("drills", ()), ("drill-console", ("enter",)), ("help", ("question_mark",))]


async def shoot(db: str, name: str, keys: tuple[str, ...]) -> Path:
    from garrison.settings import Settings
    from tests.tui.conftest import NOW, settle
    from tui.app import GarrisonApp

    screen = {"help": "findings", "drill-console": "drills"}.get(name, name)
    app = GarrisonApp(Settings(db=db, actor="officer"), screen=screen, now=NOW)
    async with app.run_test(size=(160, 44)) as pilot:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        svg = OUT / f"{name}.svg"
        app.save_screenshot(str(svg))
    png = OUT / f"{name}.png"
    subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True)
    svg.unlink()
    return png


def main() -> int:
    from garrison import db
    from garrison.settings import Settings
    from tests.tui.conftest import build

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shots.db'}"
        settings = Settings(db=url, actor="setup")
        db.upgrade(settings)
        build(settings, drill=True)
        for name, keys in SHOTS:
            print(asyncio.run(shoot(url, name, keys)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
