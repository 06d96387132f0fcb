"""Thin, class-based Temporal activities over the ports; `contracts` holds their names and typed I/O."""
