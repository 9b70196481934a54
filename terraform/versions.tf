# The one source of truth for the Terraform and provider versions of every environment.
# Each environment's versions.tf is a symlink to this file (checked by
# tests/terraform/test_tf_static.py), so the pin is written once. Modules declare only the
# matching lower bounds in their own versions.tf, as a reusable module should.
#
# 5.100 is the lowest provider admitted because our build machines carry exactly that
# version in their filesystem mirror; users downloading from the registry get 6.x.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
