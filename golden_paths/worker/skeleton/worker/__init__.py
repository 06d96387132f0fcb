"""${{ values.name }}: a background worker created from the `worker` golden path."""

__version__ = "0.1.0"
