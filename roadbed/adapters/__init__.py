"""Adapters: one module per external system, each implementing a port of `roadbed.ports`."""
