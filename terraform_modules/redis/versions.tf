terraform {
  # terraform_data is built in (>= 1.4); no providers are required.
  # `terraform test` with expect_failures on variables needs >= 1.6.
  required_version = ">= 1.5.0"
}
