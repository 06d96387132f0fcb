"""Day 2 upgrades: every golden-path version kept reproducible, and three-way merges of a newer version onto the
repositories it generated (issue 16). `template_store` keeps versions, `merge` is the pure per-file merge."""
