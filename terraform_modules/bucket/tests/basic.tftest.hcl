# Run from the module directory:  terraform init && terraform test

variables {
  name        = "uploads"
  service     = "orders"
  environment = "dev"
  team        = "payments"
}

run "valid_defaults" {
  command = apply

  assert {
    condition     = output.type == "bucket"
    error_message = "type must be \"bucket\"."
  }
  assert {
    condition     = output.bucket == "orders-dev-uploads"
    error_message = "bucket is wrong: ${output.bucket}"
  }
  assert {
    condition     = output.region == "local"
    error_message = "region must be \"local\"."
  }
  assert {
    condition     = output.endpoint == "http://minio.storage.svc.cluster.local:9000"
    error_message = "endpoint is wrong: ${output.endpoint}"
  }
  assert {
    condition     = output.secret_ref == "orders-uploads-bucket"
    error_message = "secret_ref is wrong: ${output.secret_ref}"
  }
  assert {
    condition     = terraform_data.this.output.versioning == true && terraform_data.this.output.public == false
    error_message = "versioning / public defaults were not applied."
  }
}

run "valid_public_outside_prod" {
  command = apply

  variables {
    environment = "staging"
    public      = true
    versioning  = false
  }

  assert {
    condition     = output.bucket == "orders-staging-uploads" && terraform_data.this.output.public == true && terraform_data.this.output.versioning == false
    error_message = "overrides were not applied."
  }
}

run "valid_private_prod" {
  command = apply

  variables {
    environment = "prod"
  }

  assert {
    condition     = output.bucket == "orders-prod-uploads"
    error_message = "bucket is wrong: ${output.bucket}"
  }
}

run "invalid_public_in_prod" {
  command = plan
  variables {
    environment = "prod"
    public      = true
  }
  expect_failures = [var.public]
}

run "invalid_name" {
  command = plan
  variables {
    name = "up.loads"
  }
  expect_failures = [var.name]
}

run "invalid_service" {
  command = plan
  variables {
    service = "-orders"
  }
  expect_failures = [var.service]
}

run "invalid_environment" {
  command = plan
  variables {
    environment = "Dev"
  }
  expect_failures = [var.environment]
}

run "invalid_team" {
  command = plan
  variables {
    team = "Payments"
  }
  expect_failures = [var.team]
}

run "bucket_name_too_long" {
  command = plan
  variables {
    service = "s234567890123456789012345678901234567890"
    name    = "n2345678901234567890"
  }
  expect_failures = [terraform_data.this]
}
