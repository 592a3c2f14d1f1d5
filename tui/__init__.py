"""The terminal UI: ``garrison tui``, the security officers' application (Textual).

``app.py`` is the application: one screen per file under ``screens/`` (dashboard,
assets, findings, experts, drills, help), switched as Textual modes, with the widgets
and modal prompts they share under ``widgets/`` and the styles under ``styles/``.
``cli.py`` registers the command. The screens call the same services as the CLI
(``garrison``'s findings actions, ``scanner`` queries, ``expert_pool.service``,
``drills.service``), in worker threads, so a front-end cannot drift from the other.

Imports: the top of the stack -- the kernel (``garrison``), ``scanner``,
``expert_pool`` and ``drills``; it is the only package that imports Textual, and no
other package imports it (import-linter contracts in ``pyproject.toml``).
"""
