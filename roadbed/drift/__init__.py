"""Drift: whether a live environment is still what Roadbed made it (issue 17, CONTRACT.md "Changes, drift, expiry").

Three sources are compared with the desired state: Terraform (a plan with refresh of the environment's workspace),
the GitOps repository (the manifests rendered now from the environment's recorded spec) and the service repository's
monitoring files. A check only reads; a check that fails is `unknown`, never `drifted`, and is simply run again.
"""
