"""The expert pool: the department's roster of security experts, on call and called in.

Who the experts are and what they know, when they cannot be called, who is on call,
and who is assigned to which finding or drill. ``garrison experts`` (``cli.py``,
``cli_oncall.py``, ``cli_common.py``); every user action is one function of
``service.py`` (one transaction with its audit event; results and errors in
``service_types.py``). Main modules:

- the roster: ``roster.py`` (import, add, edit, retire, list, unavailability);
  ``roster_file.py`` reads a CSV, XLSX or YAML roster (``roster_encoding.py``,
  ``roster_table.py``, ``roster_xlsx.py``, ``roster_yaml.py``), each expert checked by
  the pydantic model of ``roster_row.py`` (one validator a field: ``roster_values.py``;
  the fields: ``roster_fields.py``), every problem placed at its ``file:line``;
  ``vocab.py`` and ``data/skills.yaml``: the skills vocabulary;
- matching and assignments: ``matching.py`` (the ranking and the exclusion reasons,
  pure), ``assignments.py`` (the conflict rule, calling in, releasing), ``quick.py``
  (``experts match`` through the DB-API driver, without the ORM);
- on call: ``rotation.py``, the pure planner (with ``rotation_shifts.py``,
  ``rotation_model.py``, ``rotation_state.py``, ``rotation_planner.py``,
  ``rotation_balance.py``, ``rotation_diagnose.py``); ``oncall.py`` (plans saved, who
  is on call, iCalendar), ``oncall_check.py`` and ``oncall_repair.py`` (a saved plan
  against the roster as it is now);
- personal data: ``contacts.py``, ``masking.py`` (phones and e-mail masked unless an
  authorised, audited view), ``export.py`` (the one place an expert becomes output);
  ``queries.py``, ``filters.py``, ``times.py``, ``demo.py``.

Imports: the kernel (``garrison``) only -- contact rules, errors, models, audit.
Never ``scanner`` (the two are independent), ``drills`` or ``tui`` (both sit above
it), nor Textual. The import-linter contracts in ``pyproject.toml`` hold these rules.
"""
