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
# redis-specific inputs
# ---------------------------------------------------------------------------

variable "engine_version" {
  description = "Redis engine version: one of \"6.2\", \"7.0\", \"7.1\", \"7.2\". ElastiCache offers Redis OSS up to 7.1; \"7.2\" runs Valkey 7.2 (Redis-compatible)."
  type        = string
  default     = "7.1"
  nullable    = false

  validation {
    condition     = contains(["6.2", "7.0", "7.1", "7.2"], var.engine_version)
    error_message = "Invalid engine_version: must be one of \"6.2\", \"7.0\", \"7.1\", \"7.2\"."
  }
}

variable "node_type" {
  description = "ElastiCache node type, e.g. cache.t4g.micro."
  type        = string
  default     = "cache.t4g.micro"
  nullable    = false

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.node_type))
    error_message = "Invalid node_type: must look like \"cache.<family>.<size>\", e.g. \"cache.t4g.micro\"."
  }
}

variable "num_nodes" {
  description = "Number of cache nodes (whole number, 1-6): one primary plus replicas; 2 or more turn on automatic failover across availability zones."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.num_nodes >= 1 && var.num_nodes <= 6 && floor(var.num_nodes) == var.num_nodes
    error_message = "Invalid num_nodes: must be a whole number between 1 and 6."
  }
}
