"""What the repository says: platform.toml (the environment contract) and the roots' HCL."""
