"""Fixtures of the terraform/ tests; they live in tf_helpers.py beside this file, so test
modules can import its helpers (`from terraform.tf_helpers import ...`)."""

from terraform.tf_helpers import moto, terraform, tf_tree  # noqa: F401 - fixtures re-exported for pytest
