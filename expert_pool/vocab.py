"""The skills vocabulary (shipped as data, extendable) and skill requests.

``web:3;forensics:2`` is how a roster writes skills (level defaults to 1);
``--skill forensics:2`` is how a request asks for one (at least that level).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from garrison.errors import SettingsError
from garrison.i18n import _
from garrison.words import did_you_mean

ENV_FILE = "GARRISON_SKILLS_FILE"
LEVELS = (1, 2, 3)
_CERT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+\-/ ]{0,39}$")


@dataclass(frozen=True)
class Skill:
    name: str
    zh: str
    description: str


def skills() -> dict[str, Skill]:
    """The shipped skills, plus those of ``GARRISON_SKILLS_FILE``."""
    ref = resources.files("expert_pool").joinpath("data", "skills.yaml")
    sources = [ref.read_text(encoding="utf-8")]
    extra = os.environ.get(ENV_FILE)
    if extra:
        path = Path(extra)
        if not path.is_file():
            raise SettingsError(ENV_FILE, extra, _("a YAML file of extra skills"),
                                reason=_("not a file") if path.exists() else _("no such file"))
        sources.append(path.read_text(encoding="utf-8"))
    out: dict[str, Skill] = {}
    for text in sources:
        data = yaml.safe_load(text) or {}
        for name, info in (data.get("skills") or {}).items():
            info = info or {}
            out[str(name)] = Skill(str(name), str(info.get("zh", name)),
                                   str(info.get("description", "")))
    return out


def unknown_skill(name: str, known: dict[str, Skill]) -> str:
    names = [*known, *(s.zh for s in known.values())]  # 电子取正 -> 电子取证 too
    hint = did_you_mean(name, names) or _(" (known: {k})").format(k=", ".join(known))
    return _("unknown skill {s!r}{hint}").format(s=name, hint=hint)


def parse_skill(text: str, known: dict[str, Skill]) -> tuple[str, int]:
    """``forensics`` or ``forensics:2`` -> (skill, level); ``ValueError`` says why not."""
    name, _sep, level = text.strip().partition(":")
    name = name.strip().lower()
    if name not in known:
        # a Chinese name is welcome too: 电子取证 -> forensics
        by_zh = {s.zh.lower(): s.name for s in known.values()}
        if name in by_zh:
            name = by_zh[name]
        else:
            raise ValueError(unknown_skill(name, known))
    if not level.strip():
        return name, 1
    if not level.strip().isdigit() or int(level) not in LEVELS:
        raise ValueError(_("skill {s}: level {l!r} is not 1, 2 or 3").format(s=name, l=level))
    return name, int(level)


def parse_skills(text: str, known: dict[str, Skill]) -> dict[str, int]:
    """``web:3;forensics:2`` (also ``,`` or ``、`` between them) -> {skill: level}."""
    out: dict[str, int] = {}
    for part in re.split(r"[;,，；、]", text):
        if part.strip():
            name, level = parse_skill(part, known)
            out[name] = max(level, out.get(name, 0))
    return out


def check_cert_name(name: str) -> str:
    name = name.strip()
    if not _CERT.match(name):
        raise ValueError(_("{c!r} is not a certification name (e.g. CISP, CISSP, OSCP)").format(
            c=name))
    return name.upper() if name.isascii() else name
