"""Settings: defaults, environment, precedence, URL normalisation."""

from __future__ import annotations

import getpass

import pytest
from pydantic import ValidationError

from garrison.settings import Settings, default_db_path


def test_defaults_are_a_sqlite_file_in_the_data_dir_and_the_os_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GARRISON_DB")
    monkeypatch.delenv("GARRISON_ACTOR")
    settings = Settings()
    assert settings.db == f"sqlite:///{default_db_path()}"
    assert "xdg-data" in settings.db  # under XDG_DATA_HOME (platformdirs), set by conftest
    assert settings.actor == getpass.getuser()


def test_environment_and_explicit_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARRISON_DB", "postgres://u:p@db/garrison")
    assert Settings().db == "postgresql+psycopg://u:p@db/garrison"
    assert Settings(db="sqlite:///x.db").db == "sqlite:///x.db"  # the option wins


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="unsupported database URL 'mysql://x'"):
        Settings(db="mysql://x")
    with pytest.raises(ValidationError, match="the actor name must not be blank"):
        Settings(actor="  ")
