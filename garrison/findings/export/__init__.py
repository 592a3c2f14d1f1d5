"""Exports of findings for auditors: CSV, XLSX, JSON, OCSF and an offline HTML report.

Each format is an ``Exporter`` (``base.py``) in its own module, registered in
``FORMATS``; ``garrison.findings.exporting.export_findings`` picks one, streams the
rows from the database into it, and writes the manifest and the audit event.
"""
