# Outside prod an environment lives at most a week: a longer `ttl` is lowered to 7 days (a cap, not a denial).
# A request without a ttl is not given one (a cap lowers what is asked; requiring a ttl would be a `deny` rule).
package roadbed.policies.max_ttl

max_ttl_seconds := 604800

cap contains c if {
	some c in caps(input)
}

caps(inp) := {c |
	inp.request.environment != "prod"
	c := {"field": "ttl_seconds", "max": max_ttl_seconds}
}
