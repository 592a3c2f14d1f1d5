"""tui (arrives with its issue)."""
