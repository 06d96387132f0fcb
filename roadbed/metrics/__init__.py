"""Reports computed from the engine database (definitions: DESIGN.md, "Metrics definitions")."""
