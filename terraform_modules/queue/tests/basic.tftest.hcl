# Run from the module directory:  terraform init && terraform test

variables {
  name        = "events"
  service     = "orders"
  environment = "dev"
  team        = "payments"
}

run "valid_defaults" {
  command = apply

  assert {
    condition     = output.type == "queue"
    error_message = "type must be \"queue\"."
  }
  assert {
    condition     = output.queue_name == "orders-dev-events"
    error_message = "queue_name is wrong: ${output.queue_name}"
  }
  assert {
    condition     = output.queue_url == "http://elasticmq.messaging.svc.cluster.local:9324/000000000000/orders-dev-events"
    error_message = "queue_url is wrong: ${output.queue_url}"
  }
  assert {
    condition     = output.dead_letter_queue_name == "orders-dev-events-dlq"
    error_message = "dead_letter_queue_name is wrong: ${output.dead_letter_queue_name}"
  }
  assert {
    condition     = output.secret_ref == "orders-events-queue"
    error_message = "secret_ref is wrong: ${output.secret_ref}"
  }
  assert {
    condition = (
      terraform_data.this.output.fifo == false &&
      terraform_data.this.output.visibility_timeout_seconds == 30 &&
      terraform_data.this.output.max_receive_count == 5
    )
    error_message = "fifo / visibility_timeout_seconds / max_receive_count defaults were not applied."
  }
}

run "valid_fifo" {
  command = apply

  variables {
    fifo                       = true
    visibility_timeout_seconds = 43200
    max_receive_count          = 100
  }

  assert {
    condition     = output.queue_name == "orders-dev-events.fifo" && endswith(output.queue_name, ".fifo")
    error_message = "FIFO queue_name must end in \".fifo\": ${output.queue_name}"
  }
  assert {
    condition     = output.dead_letter_queue_name == "orders-dev-events-dlq.fifo"
    error_message = "FIFO dead_letter_queue_name must end in \".fifo\": ${output.dead_letter_queue_name}"
  }
  assert {
    condition     = endswith(output.queue_url, "/orders-dev-events.fifo")
    error_message = "queue_url must end with the FIFO queue name: ${output.queue_url}"
  }
}

run "invalid_name" {
  command = plan
  variables {
    name = "events!"
  }
  expect_failures = [var.name]
}

run "invalid_service" {
  command = plan
  variables {
    service = "Orders"
  }
  expect_failures = [var.service]
}

run "invalid_environment" {
  command = plan
  variables {
    environment = "test"
  }
  expect_failures = [var.environment]
}

run "invalid_team" {
  command = plan
  variables {
    team = "payments-"
  }
  expect_failures = [var.team]
}

run "invalid_visibility_timeout_negative" {
  command = plan
  variables {
    visibility_timeout_seconds = -1
  }
  expect_failures = [var.visibility_timeout_seconds]
}

run "invalid_visibility_timeout_too_large" {
  command = plan
  variables {
    visibility_timeout_seconds = 43201
  }
  expect_failures = [var.visibility_timeout_seconds]
}

run "invalid_max_receive_count_zero" {
  command = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}

run "invalid_max_receive_count_too_large" {
  command = plan
  variables {
    max_receive_count = 101
  }
  expect_failures = [var.max_receive_count]
}

run "queue_name_too_long" {
  command = plan
  variables {
    service = "s234567890123456789012345678901234567890"
    name    = "n234567890123456789012345678901234567890"
  }
  expect_failures = [terraform_data.this]
}
