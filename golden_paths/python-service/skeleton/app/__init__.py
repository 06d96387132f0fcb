"""${{ values.name }}: an HTTP service created from the python-service golden path."""

__version__ = "0.1.0"
