terraform {
  # >= 1.9 because the `public` validation references var.environment
  # (cross-variable validation was added in Terraform 1.9), as on the local target.
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}
