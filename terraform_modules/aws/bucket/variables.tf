# ---------------------------------------------------------------------------
# Common inputs (identical across every Roadbed module and target).
# ---------------------------------------------------------------------------

variable "name" {
  description = "Resource name. Must be a DNS label: lowercase letters, digits and '-', starting with a letter, ending with a letter or digit, 1-63 characters."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "Invalid name: must be a DNS label (regex ^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$): lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters."
  }
}

variable "service" {
  description = "Owning service. Must be a DNS label (same rule as name)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.service))
    error_message = "Invalid service: must be a DNS label (regex ^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$): lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters."
  }
}

variable "environment" {
  description = "Deployment environment: one of dev, staging, prod."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "Invalid environment: must be one of \"dev\", \"staging\", \"prod\"."
  }
}

variable "team" {
  description = "Owning team. Must be a DNS label (same rule as name)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.team))
    error_message = "Invalid team: must be a DNS label (regex ^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$): lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters."
  }
}

# ---------------------------------------------------------------------------
# bucket-specific inputs
# ---------------------------------------------------------------------------

variable "versioning" {
  description = "Keep previous versions of overwritten/deleted objects."
  type        = bool
  default     = true
  nullable    = false

  validation {
    # Type constraint already guarantees a bool; kept so every input is validated.
    condition     = contains([true, false], var.versioning)
    error_message = "Invalid versioning: must be true or false."
  }
}

variable "public" {
  description = "Allow anonymous public read (s3:GetObject) through a bucket policy. Not allowed when environment is \"prod\". ACLs stay disabled either way."
  type        = bool
  default     = false
  nullable    = false

  # Cross-variable validation (references var.environment): Terraform >= 1.9.
  validation {
    condition     = !(var.public && var.environment == "prod")
    error_message = "Invalid public: a bucket in the \"prod\" environment must not be public (set public = false)."
  }
}
