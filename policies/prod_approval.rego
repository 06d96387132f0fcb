# Production needs a platform-admin's approval and at least two named owners.
# "Owners" are the people answerable for the environment, listed in the request's `parameters.owners`
# (a golden path that serves prod declares that parameter: an array of strings). Two distinct, non-empty names.
package roadbed.policies.prod_approval

min_owners := 2

require_approval contains reason if {
	some reason in approval_reasons(input)
}

deny contains msg if {
	some msg in violations(input)
}

approval_reasons(inp) := {reason |
	inp.request.environment == "prod"
	reason := "production environments are approved by a platform-admin"
}

owners(inp) := {o |
	some o in object.get(inp.request, ["parameters", "owners"], [])
	is_string(o)
	o != ""
}

violations(inp) := {msg |
	inp.request.environment == "prod"
	found := count(owners(inp))
	found < min_owners
	msg := sprintf("prod needs at least %d distinct owners in parameters.owners; found %d", [min_owners, found])
}
