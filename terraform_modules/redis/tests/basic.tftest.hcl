# Run from the module directory:  terraform init && terraform test

variables {
  name        = "cache"
  service     = "orders"
  environment = "dev"
  team        = "payments"
}

run "valid_defaults" {
  command = apply

  assert {
    condition     = output.type == "redis"
    error_message = "type must be \"redis\"."
  }
  assert {
    condition     = output.host == "orders-cache.orders-dev.svc.cluster.local"
    error_message = "host is wrong: ${output.host}"
  }
  assert {
    condition     = output.port == 6379
    error_message = "port must be 6379."
  }
  assert {
    condition     = output.secret_ref == "orders-cache-redis"
    error_message = "secret_ref is wrong: ${output.secret_ref}"
  }
  assert {
    condition = (
      terraform_data.this.output.engine_version == "7.1" &&
      terraform_data.this.output.node_type == "cache.t4g.micro" &&
      terraform_data.this.output.num_nodes == 1
    )
    error_message = "engine_version / node_type / num_nodes defaults were not applied."
  }
}

run "valid_overrides" {
  command = apply

  variables {
    environment    = "staging"
    engine_version = "7.2"
    node_type      = "cache.r7g.large"
    num_nodes      = 6
  }

  assert {
    condition     = output.host == "orders-cache.orders-staging.svc.cluster.local" && terraform_data.this.output.num_nodes == 6
    error_message = "overrides were not applied."
  }
}

run "invalid_name" {
  command = plan
  variables {
    name = "Cache"
  }
  expect_failures = [var.name]
}

run "invalid_name_leading_digit" {
  command = plan
  variables {
    name = "1cache"
  }
  expect_failures = [var.name]
}

run "invalid_service" {
  command = plan
  variables {
    service = "orders_svc"
  }
  expect_failures = [var.service]
}

run "invalid_environment" {
  command = plan
  variables {
    environment = "qa"
  }
  expect_failures = [var.environment]
}

run "invalid_team" {
  command = plan
  variables {
    team = ""
  }
  expect_failures = [var.team]
}

run "invalid_engine_version" {
  command = plan
  variables {
    engine_version = "5.0"
  }
  expect_failures = [var.engine_version]
}

run "invalid_node_type" {
  command = plan
  variables {
    node_type = "t4g.micro"
  }
  expect_failures = [var.node_type]
}

run "invalid_num_nodes_zero" {
  command = plan
  variables {
    num_nodes = 0
  }
  expect_failures = [var.num_nodes]
}

run "invalid_num_nodes_too_many" {
  command = plan
  variables {
    num_nodes = 7
  }
  expect_failures = [var.num_nodes]
}

run "host_label_too_long" {
  command = plan
  variables {
    service = "s234567890123456789012345678901234567890"
    name    = "n234567890123456789012345678901234567890"
  }
  expect_failures = [terraform_data.this]
}
