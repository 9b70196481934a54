"""platformctl: run the e-commerce data platform's Terraform, locally and in AWS."""

__version__ = "0.1.0"
