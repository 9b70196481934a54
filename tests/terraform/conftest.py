"""Fixtures of the terraform/ tests; they live in tf_helpers.py beside this file, so test
modules can import its helpers by name (tests/ is not a package)."""

from tf_helpers import moto, terraform, tf_tree  # noqa: F401 - fixtures re-exported for pytest
