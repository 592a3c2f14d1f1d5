"""The export formats by name, and how a user's choice of one is looked up."""

from __future__ import annotations

from garrison.errors import GarrisonError
from garrison.findings.export.base import Exporter
from garrison.findings.export.csv_format import CsvExporter
from garrison.findings.export.html_format import HtmlExporter
from garrison.findings.export.json_format import JsonExporter
from garrison.findings.export.ocsf_format import OcsfExporter
from garrison.findings.export.xlsx_format import XlsxExporter
from garrison.i18n import _
from garrison.words import did_you_mean

FORMATS: dict[str, type[Exporter]] = {
    exporter.name: exporter
    for exporter in (CsvExporter, XlsxExporter, JsonExporter, OcsfExporter, HtmlExporter)
}


def get_exporter(name: str) -> Exporter:
    """A new exporter for the format called ``name`` (case-insensitive)."""
    exporter = FORMATS.get(name.strip().lower())
    if exporter is not None:
        return exporter()
    suggestion = did_you_mean(name.strip().lower(), FORMATS, cutoff=0.5)
    raise GarrisonError(
        _("unknown export format {name!r}{suggestion}").format(name=name, suggestion=suggestion),
        hint=_("Formats: {formats}.").format(formats=", ".join(FORMATS)),
    )
