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
# postgres-specific inputs
# ---------------------------------------------------------------------------

variable "engine_version" {
  description = "PostgreSQL major version: one of \"14\", \"15\", \"16\", \"17\"."
  type        = string
  default     = "16"
  nullable    = false

  validation {
    condition     = contains(["14", "15", "16", "17"], var.engine_version)
    error_message = "Invalid engine_version: must be one of \"14\", \"15\", \"16\", \"17\"."
  }
}

variable "storage_gb" {
  description = "Allocated storage in GiB (whole number, 10-1000). RDS needs at least 20 GiB of gp3: smaller values get 20; storage autoscales up to twice the allocation."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.storage_gb >= 10 && var.storage_gb <= 1000 && floor(var.storage_gb) == var.storage_gb
    error_message = "Invalid storage_gb: must be a whole number between 10 and 1000."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t4g.micro."
  type        = string
  default     = "db.t4g.micro"
  nullable    = false

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "Invalid instance_class: must look like \"db.<family>.<size>\", e.g. \"db.t4g.micro\"."
  }
}

variable "master_password" {
  description = "Master password of the database (8-128 characters), or null to let the platform manage it. Sensitive: Roadbed seals it at submission and it is never stored, logged or shown in clear."
  type        = string
  default     = null
  nullable    = true
  sensitive   = true

  validation {
    condition     = var.master_password == null || (length(coalesce(var.master_password, "12345678")) >= 8 && length(coalesce(var.master_password, "12345678")) <= 128)
    error_message = "Invalid master_password: must be 8-128 characters."
  }
}
