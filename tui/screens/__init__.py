"""One screen per file: dashboard, assets, findings, experts, drills, help."""
