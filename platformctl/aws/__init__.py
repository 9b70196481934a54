"""AWS itself: the credentials Terraform runs with (aws-vault, OIDC, the emulator's fakes), the
STS account guard, and the remote-state bootstrap.
"""
