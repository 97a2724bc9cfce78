variable "region" {
  description = "AWS region of the stack."
  type        = string

  validation {
    condition     = can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$", var.region))
    error_message = "region must be an AWS region of the standard aws partition, such as us-east-1 (not GovCloud, China or ISO)."
  }
}

variable "stack" {
  description = "The atlas-iam-access module's inputs, from atlasiam.toml; the module checks each one."
  type        = any
}
