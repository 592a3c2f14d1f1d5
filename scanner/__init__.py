"""scanner (arrives with its issue)."""
