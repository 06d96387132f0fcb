# No bucket is public, in any environment (the bucket module already refuses a public bucket in prod).
package roadbed.policies.no_public_bucket

deny contains msg if {
	some msg in violations(input)
}

violations(inp) := {msg |
	some r in inp.request.resources
	r.type == "bucket"
	r.public == true
	msg := sprintf("bucket %s must not be public", [r.name])
}
