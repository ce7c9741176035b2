"""Internal helpers (validation, torch utilities)."""
