"""drills (arrives with its issue)."""
