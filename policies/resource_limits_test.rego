package roadbed.policies.resource_limits_test

import data.roadbed.policies.resource_limits

# Inputs are written out in full: rego-cpp quotes a string that reaches `sprintf` through a test helper's argument.

test_allowed_types_and_sizes_pass if {
	inp := {"request": {"environment": "dev", "resources": [{"type": "postgres", "name": "db", "storage_gb": 50}]}}
	count(resource_limits.violations(inp)) == 0
}

test_redis_is_not_offered_in_dev if {
	inp := {"request": {"environment": "dev", "resources": [{"type": "redis", "name": "cache"}]}}
	resource_limits.violations(inp) == {"dev environments may not have a redis resource (cache)"}
}

test_redis_is_offered_in_staging if {
	inp := {"request": {"environment": "staging", "resources": [{"type": "redis", "name": "cache", "num_nodes": 2}]}}
	count(resource_limits.violations(inp)) == 0
}

test_oversized_postgres_in_dev_is_denied if {
	inp := {"request": {"environment": "dev", "resources": [{"type": "postgres", "name": "db", "storage_gb": 100}]}}
	resource_limits.violations(inp) == {"db.storage_gb is 100; at most 50 in dev"}
}

test_prod_allows_larger_sizes if {
	inp := {"request": {"environment": "prod", "resources": [{"type": "postgres", "name": "db", "storage_gb": 500}]}}
	count(resource_limits.violations(inp)) == 0
}
