"""Drills: exercises that follow a playbook -- attack-defense, opinion-response, tabletop
or mixed -- run on their own clock, scored and reported.

``garrison drill`` (``cli.py``). A drill coordinator writes a playbook (YAML, shipped
ones in the ``playbooks`` data package); a run follows it on drill time, takes the
teams' responses, fires automated actions and ends in an after-action report. Main
modules:

- ``schema.py`` (the playbook as pydantic models), ``loader.py`` (YAML -> ``Playbook``
  with every problem as ``file:line``; its cross-reference pass is
  ``loader_refs.py``), ``conditions.py``, ``durations.py``;
- ``service.py``: every user action, one function each, in one transaction with its
  audit event; ``queries.py``: reads for the front-ends; ``store.py``: runs in the
  database;
- ``engine.py`` (driving a run: clock, inputs, actions, timeline), ``sim.py`` (the
  drill as a deterministic simulation over drill time), ``events.py`` (one vocabulary
  of events and one way to say each), ``actions.py`` (scan, probe, check-finding),
  ``script.py`` (scripted responses for rehearsals);
- ``report.py``, ``report_md.py``, ``report_html.py``: the after-action report;
  ``demo.py``: the drills' part of ``garrison demo``.

Imports: the kernel (``garrison``) and the feature packages below it -- ``scanner``
for the red-team actions (``actions.py``, imported lazily), and ``expert_pool`` if a
drill ever needs it. Never ``tui`` nor Textual (the TUI sits above and shows runs).
"""
