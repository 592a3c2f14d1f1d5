"""Findings: what is wrong, whose it is, by when, and what happened to it."""
