package roadbed.policies.no_public_bucket_test

import data.roadbed.policies.no_public_bucket

request(resources) := {"request": {"environment": "dev", "resources": resources}}

test_private_bucket_passes if {
	count(no_public_bucket.violations(request([{"type": "bucket", "name": "assets", "public": false}]))) == 0
}

test_public_bucket_is_denied if {
	no_public_bucket.violations(request([{"type": "bucket", "name": "assets", "public": true}])) == {"bucket assets must not be public"}
}

test_other_types_are_not_buckets if {
	count(no_public_bucket.violations(request([{"type": "queue", "name": "jobs", "public": true}]))) == 0
}
