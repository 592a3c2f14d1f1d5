"""Scanner settings (environment ``GARRISON_*``), separate from the kernel's."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ScannerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GARRISON_", extra="ignore")

    nmap: str = "nmap"
    """The nmap binary (a name on PATH or a path)."""
    rules_dir: Path | None = None
    """A directory of extra rule packs (``*.yaml``) that may override shipped rules."""
    missed_runs: int = 2
    """Consecutive covering runs an asset may miss before it is recorded as gone."""
    batch_size: int = 1024
    """Addresses per nmap invocation; each batch is stored when it finishes."""
    scan_parallel: int = 2
    """nmap runs at a time; a rate cap is shared between them."""
    max_addresses: int = 1 << 20
    """Refuse scans larger than this many addresses (a /12)."""
