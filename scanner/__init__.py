"""The scanner: find what is exposed on the authorised networks and keep the inventory.

``garrison scan`` and ``garrison assets`` (``cli.py``). A scan is a plain
``ScanRequest`` that ``scan.py`` runs in a fixed order -- validate, let the kernel's
scope guard approve every target, only then start a back-end -- storing each batch of
hosts as it finishes. Main modules:

- ``scan.py``, ``runs.py``: running a scan and its ``ScanRun`` bookkeeping (progress,
  interruption, crash recovery); ``profiles.py``, ``ports.py``: named profiles built
  from validated nmap arguments; ``privilege.py``: raw sockets or not;
- ``backends.py`` (nmap in a process we own), ``nmap_xml.py`` (streamed parsing),
  ``discovery/`` (host discovery with scapy, imported lazily);
- ``inventory.py``, ``portinfo.py``, ``history.py``: assets, services and their
  changes, and the findings the risk rules (``rules/``: YAML rule packs) raise;
  ``importer.py``, ``import_read.py``: nmap XML produced elsewhere;
- reads: ``queries.py``, ``run_queries.py``, ``listing.py``/``listing_sql.py``,
  ``paging.py``, ``quick.py`` (the DB-API fast path), ``render.py``;
- ``lab/``: loopback services that real nmap identifies, for ``demo.py`` and tests.

Imports: the kernel (``garrison``) only. Never ``expert_pool`` (the two are
independent), ``drills`` or ``tui`` (``drills`` uses the scanner for its red-team
actions, the TUI shows its inventory), nor Textual. The import-linter contracts in
``pyproject.toml`` hold these rules.
"""
