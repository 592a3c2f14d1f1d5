"""The fields of an expert in a roster file, shared by every format: names, limits, the record.

Pure: nothing here touches the database. ``COLUMNS`` names every field and the column
headers (English or Chinese) that mean it; ``MAX_LENGTH`` holds the database's column
sizes; ``ExpertRecord`` is a checked expert, identified by ``key_for``; ``SeenKeys``
refuses the same expert twice in one file. The values are checked by a pydantic model,
``expert_pool.roster_row`` (its validators: ``expert_pool.roster_values``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from garrison.i18n import _

# Column (field) -> the header names that mean it. English is matched case-insensitively
# with spaces and hyphens read as "_"; Chinese exactly (after trimming).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "organisation": ("organisation", "organization", "单位"),
    "home_unit": ("home_unit", "所属单位代码"),
    "city": ("city", "城市"),
    "skills": ("skills", "技能"),
    "certifications": ("certifications", "证书"),
    "phone": ("phone", "电话"),
    "email": ("email", "邮箱"),
    "languages": ("languages", "语言"),
    "notes": ("notes", "备注"),
    "clearance": ("clearance", "密级"),
    "active": ("active", "在岗"),
}
REQUIRED = ("name", "organisation")
HEADER_TO_FIELD = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
YAML_FIELDS = (*COLUMNS, "organization")

MAX_LENGTH = {"name": 100, "organisation": 200, "city": 100, "clearance": 50, "home_unit": 100}
"""The database's column sizes (``garrison.models.experts``), checked here so an import
fails with a line number rather than at the database."""


@dataclass(frozen=True)
class ExpertRecord:
    """One expert of a roster file, every value checked and cleaned."""

    line: int
    """CSV: the physical line the row starts on (the header is line 1); XLSX: the row
    number Excel shows; YAML: the line of the list item."""
    key: str
    """Stable identity for re-imports (``key_for``)."""
    name: str
    organisation: str
    home_unit: str | None
    """A unit code as written; the service resolves it."""
    city: str | None
    skills: dict[str, int]
    certifications: list[dict[str, str | None]]
    """``[{"name": "CISP", "expires": "2028-06-30"}, {"name": "OSCP", "expires": None}]``."""
    phone: str | None
    email: str | None
    languages: list[str]
    clearance: str | None
    notes: str | None
    active: bool = True


def collapse(text: str) -> str:
    """Trimmed, every run of whitespace inside as one space."""
    return " ".join(text.split())


def key_for(name: str, organisation: str, email: str | None) -> str:
    """The e-mail in lower case if there is one, else ``name|organisation`` (trimmed,
    inner whitespace collapsed, case-folded)."""
    if email and email.strip():
        return email.strip().lower()
    return f"{collapse(name)}|{collapse(organisation)}".casefold()


@dataclass
class SeenKeys:
    """Keys met so far in the file, to refuse the same expert twice."""

    lines: dict[str, int] = field(default_factory=dict)
    rows: bool = False
    """Say "row" (a spreadsheet's) rather than "line" in the message."""

    def check(self, key: str, line: int) -> str | None:
        if key in self.lines:
            message = (_("duplicate expert {key} (also on row {line})") if self.rows
                       else _("duplicate expert {key} (also on line {line})"))
            return message.format(key=key, line=self.lines[key])
        self.lines[key] = line
        return None
