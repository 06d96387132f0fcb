"""Deterministic orchestration: Temporal workflows only (no I/O, clock or randomness outside `workflow.*`)."""
