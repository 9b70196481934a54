# Lower bounds only: the environment roots (terraform/versions.tf) pin the upper bound.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
