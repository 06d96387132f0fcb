terraform {
  # terraform_data is built in (>= 1.4); no providers are required.
  # >= 1.9 because the `public` validation references var.environment
  # (cross-variable validation was added in Terraform 1.9).
  required_version = ">= 1.9.0"
}
