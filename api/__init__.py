"""The HTTP API (FastAPI): app factory, dependencies, one error-mapping module and a router per resource."""
