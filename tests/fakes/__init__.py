"""Fakes of external systems for the tests: stateful local servers the real client libraries talk to over HTTP."""
