package roadbed.policies.prod_approval_test

import data.roadbed.policies.prod_approval

request(env, parameters) := {"request": {"environment": env, "parameters": parameters, "resources": []}}

test_prod_with_two_owners_needs_approval_only if {
	inp := request("prod", {"owners": ["ana", "bo"]})
	count(prod_approval.violations(inp)) == 0
	count(prod_approval.approval_reasons(inp)) == 1
}

test_prod_with_one_owner_is_denied if {
	prod_approval.violations(request("prod", {"owners": ["ana", "ana"]})) == {"prod needs at least 2 distinct owners in parameters.owners; found 1"}
}

test_prod_without_owners_is_denied if {
	count(prod_approval.violations(request("prod", {}))) == 1
}

test_dev_needs_neither if {
	inp := request("dev", {})
	count(prod_approval.violations(inp)) == 0
	count(prod_approval.approval_reasons(inp)) == 0
}
