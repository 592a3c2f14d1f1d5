"""Findings a person (or a drill) records: on a unit, or on an asset of its inventory."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlmodel import Session, select

from garrison import audit
from garrison.errors import GarrisonError, NotFoundError
from garrison.findings.sla import SlaPolicy, due_at
from garrison.i18n import _
from garrison.models import (
    Asset,
    EventKind,
    Finding,
    FindingEvent,
    FindingSource,
    FindingStatus,
    Severity,
)
from garrison.org.queries import get_unit

_CVSS = re.compile(r"^CVSS:3\.[01]/AV:[NALP]/AC:[LH]/PR:[NLH]/UI:[NR]/S:[UC]"
                   r"/C:[NLH]/I:[NLH]/A:[NLH]")
_CWE = re.compile(r"^CWE-\d{1,5}$")


def _check(cvss: str | None, cwe: str | None, protocol: str | None, port: int | None) -> None:
    if cvss is not None and not _CVSS.match(cvss):
        raise GarrisonError(_("{v!r} is not a CVSS v3 vector").format(v=cvss),
                            hint=_("e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))
    if cwe is not None and not _CWE.match(cwe):
        raise GarrisonError(_("{v!r} is not a CWE id").format(v=cwe), hint=_("e.g. CWE-79"))
    if (port is None) != (protocol is None):
        raise GarrisonError(_("give both the protocol and the port, e.g. --port tcp/443"))
    if port is not None and not 0 < port < 65536:
        raise GarrisonError(_("port {p} is not between 1 and 65535").format(p=port))


def add_manual(session: Session, *, unit_code: str, title: str, severity: Severity,
               actor: str, address: str | None = None, protocol: str | None = None,
               port: int | None = None, description: str | None = None,
               remediation: str | None = None, owner: str | None = None,
               cvss: str | None = None, cwe: str | None = None,
               now: datetime, policy: SlaPolicy,
               source: FindingSource = FindingSource.manual, fingerprint: str | None = None,
               rule_id: str = "manual", evidence: dict[str, object] | None = None,
               note: str | None = None) -> Finding:
    """Record a finding by hand; on an asset when ``address`` is given.

    A drill records its missed expectations through here too (``source=drill``, a
    ``fingerprint`` of its own): recording the same fingerprint again returns the
    finding already there, so a resumed drill raises each finding once."""
    if fingerprint is not None:
        existing = session.exec(select(Finding).where(Finding.fingerprint == fingerprint)).first()
        if existing is not None:
            return existing
    title = title.strip()
    if not title:
        raise GarrisonError(_("a finding needs a title"))
    _check(cvss, cwe, protocol, port)
    unit = get_unit(session, unit_code)
    asset = None
    if address is not None:
        import ipaddress

        try:
            address = ipaddress.ip_address(address).compressed
        except ValueError as exc:
            raise GarrisonError(_("{a!r} is not an IP address").format(a=address)) from exc
        asset = session.exec(select(Asset).where(Asset.unit_id == unit.id,
                                                 Asset.address == address)).first()
        if asset is None:
            raise NotFoundError(
                _("{a} is not in the inventory of {u}").format(a=address, u=unit.code),
                hint=_("Scan it first, or record the finding on the unit (without --asset)."))
    assert unit.id is not None
    finding = Finding(
        fingerprint=fingerprint or f"manual|{unit.code}|{address or '-'}|{uuid.uuid4().hex[:12]}",
        rule_id=rule_id, title=title, description=description, remediation=remediation,
        severity=severity, source=source, unit_id=unit.id,
        asset_id=asset.id if asset else None, address=address, protocol=protocol, port=port,
        owner=(owner or "").strip() or unit.officer_name, status=FindingStatus.open,
        due_at=due_at(severity, now, asset.protection_level if asset else None, policy),
        first_seen=now, last_seen=now, status_changed_at=now, cvss_vector=cvss, cwe=cwe,
        evidence=evidence if evidence is not None else {"recorded_by": actor})
    session.add(finding)
    session.flush()
    assert finding.id is not None
    session.add(FindingEvent(finding_id=finding.id, kind=EventKind.status, at=now, actor=actor,
                             from_status=None, to_status=FindingStatus.open,
                             note=note or _("recorded by hand")))
    audit.record(session, actor=actor, action="finding.created", subject=f"finding:{finding.id}",
                 payload={"unit": unit.code, "address": address, "title": title,
                          "severity": severity.value, "owner": finding.owner,
                          "source": source.value}, at=now)
    session.flush()
    return finding
