# Run from the module directory:  terraform init && terraform test

variables {
  name        = "main-db"
  service     = "orders"
  environment = "dev"
  team        = "payments"
}

run "valid_defaults" {
  command = apply

  assert {
    condition     = output.type == "postgres"
    error_message = "type must be \"postgres\"."
  }
  assert {
    condition     = output.host == "orders-main-db.orders-dev.svc.cluster.local"
    error_message = "host is wrong: ${output.host}"
  }
  assert {
    condition     = output.port == 5432
    error_message = "port must be 5432."
  }
  assert {
    condition     = output.database == "main_db" && output.username == "main_db"
    error_message = "database/username must be the name with '-' replaced by '_'."
  }
  assert {
    condition     = output.engine_version == "16"
    error_message = "engine_version must default to \"16\"."
  }
  assert {
    condition     = output.secret_ref == "orders-main-db-postgres"
    error_message = "secret_ref is wrong: ${output.secret_ref}"
  }
  assert {
    condition     = terraform_data.this.output.storage_gb == 20 && terraform_data.this.output.instance_class == "db.t4g.micro"
    error_message = "storage_gb / instance_class defaults were not applied."
  }
}

run "valid_overrides" {
  command = apply

  variables {
    environment    = "prod"
    engine_version = "17"
    storage_gb     = 1000
    instance_class = "db.r6g.large"
  }

  assert {
    condition     = output.engine_version == "17" && output.host == "orders-main-db.orders-prod.svc.cluster.local"
    error_message = "overrides were not applied."
  }
}

run "invalid_name_uppercase" {
  command = plan
  variables {
    name = "Main"
  }
  expect_failures = [var.name]
}

run "invalid_name_trailing_dash" {
  command = plan
  variables {
    name = "main-"
  }
  expect_failures = [var.name]
}

run "invalid_name_too_long" {
  command = plan
  variables {
    name = "a234567890123456789012345678901234567890123456789012345678901234"
  }
  expect_failures = [var.name]
}

run "invalid_service" {
  command = plan
  variables {
    service = "1orders"
  }
  expect_failures = [var.service]
}

run "invalid_environment" {
  command = plan
  variables {
    environment = "production"
  }
  expect_failures = [var.environment]
}

run "invalid_team" {
  command = plan
  variables {
    team = "pay_ments"
  }
  expect_failures = [var.team]
}

run "invalid_engine_version" {
  command = plan
  variables {
    engine_version = "13"
  }
  expect_failures = [var.engine_version]
}

run "invalid_storage_too_small" {
  command = plan
  variables {
    storage_gb = 5
  }
  expect_failures = [var.storage_gb]
}

run "invalid_storage_too_large" {
  command = plan
  variables {
    storage_gb = 1001
  }
  expect_failures = [var.storage_gb]
}

run "invalid_storage_fractional" {
  command = plan
  variables {
    storage_gb = 20.5
  }
  expect_failures = [var.storage_gb]
}

run "invalid_instance_class" {
  command = plan
  variables {
    instance_class = "t4g.micro"
  }
  expect_failures = [var.instance_class]
}

run "host_label_too_long" {
  command = plan
  variables {
    service = "s234567890123456789012345678901234567890"
    name    = "n234567890123456789012345678901234567890"
  }
  expect_failures = [terraform_data.this]
}

run "master_password_is_kept_but_never_output" {
  command = apply

  variables {
    master_password = "correct-horse-battery"
  }

  assert {
    condition     = terraform_data.this.output.master_password == "correct-horse-battery"
    error_message = "the database must receive the master password."
  }
  assert {
    condition     = output.secret_ref == "orders-main-db-postgres"
    error_message = "outputs stay the same with a master password."
  }
}

run "master_password_too_short" {
  command = plan

  variables {
    master_password = "short"
  }

  expect_failures = [var.master_password]
}
