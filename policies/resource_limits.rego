# Which resource types each environment may ask for, and how large they may be.
# Example policy shipped with Roadbed: copy it and change the two tables.
package roadbed.policies.resource_limits

allowed_types := {
	"dev": {"postgres", "bucket", "queue"},
	"staging": {"postgres", "bucket", "queue", "redis"},
	"prod": {"postgres", "bucket", "queue", "redis"},
}

# The largest value of a numeric setting, per environment and resource type.
max_sizes := {
	"dev": {"postgres": {"storage_gb": 50}, "redis": {"num_nodes": 1}},
	"staging": {"postgres": {"storage_gb": 200}, "redis": {"num_nodes": 2}},
	"prod": {"postgres": {"storage_gb": 1000}, "redis": {"num_nodes": 6}},
}

deny contains msg if {
	some msg in violations(input)
}

# Rules are functions of the input so the tests can call them without `with input as` (see policies/README.md).
violations(inp) := type_violations(inp) | size_violations(inp)

type_violations(inp) := {msg |
	env := inp.request.environment
	some r in inp.request.resources
	allowed := allowed_types[env]
	not r.type in allowed
	msg := sprintf("%s environments may not have a %s resource (%s)", [env, r.type, r.name])
}

size_violations(inp) := {msg |
	env := inp.request.environment
	some r in inp.request.resources
	some setting
	limit := max_sizes[env][r.type][setting]
	r[setting] > limit
	msg := sprintf("%s.%s is %v; at most %v in %s", [r.name, setting, r[setting], limit, env])
}
