"""Garrison kernel: settings, storage, org tree and scopes, audit trail, and the CLI.

Importing this package is cheap on purpose: the CLI must start fast, so heavy
libraries (SQLAlchemy, pydantic-settings, Alembic) are imported by the modules that
need them, not here.
"""

__version__ = "0.1.0"
