"""expert_pool (arrives with its issue)."""
