package roadbed.policies.max_ttl_test

import data.roadbed.policies.max_ttl

test_dev_is_capped_at_a_week if {
	max_ttl.caps({"request": {"environment": "dev", "ttl_seconds": 2592000}}) == {{"field": "ttl_seconds", "max": 604800}}
}

test_prod_is_not_capped if {
	count(max_ttl.caps({"request": {"environment": "prod", "ttl_seconds": 2592000}})) == 0
}
