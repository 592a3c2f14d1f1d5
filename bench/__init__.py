"""Benchmarks: scripts that print figures. Run with ``make bench``."""
