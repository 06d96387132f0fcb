package roadbed.policies.required_labels_test

import data.roadbed.policies.required_labels

request(labels) := {"request": {"environment": "dev", "parameters": {"labels": labels}, "resources": []}}

test_both_labels_pass if {
	count(required_labels.violations(request({"cost-center": "cc-42", "data-classification": "internal"}))) == 0
}

test_a_missing_label_is_named if {
	required_labels.violations(request({"cost-center": "cc-42"})) == {"label data-classification is required (parameters.labels)"}
}

test_an_empty_label_counts_as_missing if {
	count(required_labels.violations(request({"cost-center": "", "data-classification": "internal"}))) == 1
}

test_no_labels_at_all if {
	count(required_labels.violations({"request": {"environment": "dev", "parameters": {}, "resources": []}})) == 2
}
