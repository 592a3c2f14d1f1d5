"""Playbooks shipped with Garrison, as package data.

An installed (non-editable) copy finds them through ``importlib.resources``; the
drill engine lists them beside the user's own playbook directory.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def shipped() -> list[Traversable]:
    """Every shipped playbook file (``*.yaml``), sorted by name."""
    root = files(__name__)
    return sorted(
        (entry for entry in root.iterdir() if entry.name.endswith((".yaml", ".yml"))),
        key=lambda entry: entry.name,
    )
