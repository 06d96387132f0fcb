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
# queue-specific inputs
# ---------------------------------------------------------------------------

variable "fifo" {
  description = "Create a FIFO queue (exactly-once, ordered). Queue names then end in \".fifo\"."
  type        = bool
  default     = false
  nullable    = false

  validation {
    # Type constraint already guarantees a bool; kept so every input is validated.
    condition     = contains([true, false], var.fifo)
    error_message = "Invalid fifo: must be true or false."
  }
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received message stays invisible to other consumers (whole number, 0-43200)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "Invalid visibility_timeout_seconds: must be a whole number between 0 and 43200 (12 hours)."
  }
}

variable "max_receive_count" {
  description = "Receives before a message is moved to the dead-letter queue (whole number, 1-100)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 100 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "Invalid max_receive_count: must be a whole number between 1 and 100."
  }
}
