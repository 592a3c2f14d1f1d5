"""Scanner settings (environment ``GARRISON_*``), separate from the kernel's.

A scanner command builds them first, before it opens the database or sends a packet,
and hands them down; a bad value stops it with one line naming the variable, the value
and the expected form, exit code 2 (``garrison.envsettings``). The bounds here are the
ones ``scan run --batch-size/--parallel`` enforce on the command line.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from garrison.envsettings import EnvSettings
from garrison.i18n import _

#: At most this many nmap runs at a time (also the maximum of ``scan run --parallel``).
MAX_PARALLEL = 8
#: Addresses per nmap run at most (also the maximum of ``scan run --batch-size``).
MAX_BATCH = 65_536


def _program(value: str) -> str:
    if not value.strip():
        raise ValueError(_("empty"))
    if shutil.which(value) is None:
        raise ValueError(_("no such program"))
    return value


def _blank_is_error(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError(_("empty"))
    return value


def _directory(value: Path | None) -> Path | None:
    if value is not None and not value.is_dir():
        raise ValueError(_("not a directory") if value.exists() else _("no such directory"))
    return value


class ScannerSettings(EnvSettings):
    """How the scanner runs nmap and what it refuses."""

    nmap: Annotated[str, AfterValidator(_program)] = Field(default="nmap",
                                                           validate_default=False)
    """The nmap binary (a name on PATH or a path). When set, it must exist; the default
    ``nmap`` is looked up when a scan starts (a missing nmap is reported then)."""
    rules_dir: Annotated[Path | None, BeforeValidator(_blank_is_error),
                         AfterValidator(_directory)] = None
    """A directory of extra rule packs (``*.yaml``) that may override shipped rules."""
    missed_runs: int = Field(default=2, ge=1, le=100)
    """Consecutive covering runs an asset may miss before it is recorded as gone."""
    batch_size: int = Field(default=1024, ge=1, le=MAX_BATCH)
    """Addresses per nmap invocation; each batch is stored when it finishes."""
    scan_parallel: int = Field(default=2, ge=1, le=MAX_PARALLEL)
    """nmap runs at a time; a rate cap is shared between them."""
    max_addresses: int = Field(default=1 << 20, ge=1, le=1 << 24)
    """Refuse scans larger than this many addresses (default a /12, at most a /8)."""

    @classmethod
    def expected_forms(cls) -> dict[str, str]:
        return {
            "nmap": _("the name of nmap on PATH or the path of the nmap program"),
            "rules_dir": _("a directory of rule packs (*.yaml)"),
        }
