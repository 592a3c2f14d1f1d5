"""Widgets and modal prompts shared by the screens (one per file)."""
