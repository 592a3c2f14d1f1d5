"""``garrison tui`` for real, in tmux: open the findings, filter, change a status, quit;
then read the database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from garrison import db
from garrison.settings import Settings
from tests.tui.conftest import build

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (CI installs it: apt tmux)")


class Pane:
    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str, literal: bool = False) -> None:
        args = ["tmux", "send-keys", "-t", self.name] + (["-l"] if literal else []) + list(keys)
        subprocess.run(args, check=True)

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} never appeared; the pane shows:\n{self.text()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name],
                              capture_output=True).returncode == 0


def test_findings_filter_status_quit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(db=url, actor="setup")
    db.upgrade(settings)
    build(settings)
    db.dispose_engines()
    garrison = Path(sys.executable).with_name("garrison")
    name = f"garrison-e2e-{os.getpid()}"
    command = (f"env GARRISON_DB={url} GARRISON_ACTOR=officer.li TERM=xterm-256color "
               f"{garrison} tui --screen findings")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "170", "-y", "46",
                    command], check=True)
    pane = Pane(name)
    try:
        pane.wait_for("9 of 9 findings shown")
        pane.keys("/")
        time.sleep(0.3)             # a person types slower than tmux
        pane.keys("SQL", literal=True)
        pane.wait_for("1 of 1 findings shown")
        pane.keys("Escape")
        time.sleep(0.3)
        pane.keys("s")
        pane.wait_for("is open. Move it to:")
        pane.keys("Enter")          # open the status list
        time.sleep(0.3)
        pane.keys("Down")           # past the prompt line: in_progress
        pane.keys("Enter")
        time.sleep(0.2)
        pane.keys("Tab")            # the reason
        time.sleep(0.2)
        pane.keys("远程修复中", literal=True)
        time.sleep(0.2)
        pane.keys("Enter")          # submit
        pane.wait_for("in_progress")
        pane.keys("C-q")
        deadline = time.monotonic() + 10
        while pane.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pane.alive(), "ctrl+q did not quit"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)

    from sqlmodel import select

    from garrison.db import read_session
    from garrison.findings.queries import finding_detail
    from garrison.models import Finding, FindingStatus

    with read_session(settings) as session:
        finding = session.exec(select(Finding).where(Finding.title == "门户网站存在SQL注入")).one()
        assert finding.id is not None
        events = finding_detail(session, finding.id, now=settings.now()).events
    assert finding.status is FindingStatus.in_progress
    assert (events[-1].actor, events[-1].note) == ("officer.li", "远程修复中")
