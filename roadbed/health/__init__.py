"""A service's live picture (CONTRACT.md "Service health"): one section per source, fetched concurrently."""
