# Every environment carries the organisation's labels: `parameters.labels` (an object of strings, offered by the
# golden path) must name a cost centre and a data classification. Roadbed's modules already tag every resource
# with its service, environment and team; these are the labels a platform team adds on top.
package roadbed.policies.required_labels

required := {"cost-center", "data-classification"}

deny contains msg if {
	some msg in violations(input)
}

labels(inp) := {key |
	given := object.get(inp.request, ["parameters", "labels"], {})
	some key
	value := given[key]
	is_string(value)
	value != ""
}

violations(inp) := {msg |
	some key in required - labels(inp)
	msg := sprintf("label %s is required (parameters.labels)", [key])
}
