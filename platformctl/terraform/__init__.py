"""Terraform itself: which engine runs, how it is run, where providers come from, and what a
plan changes.
"""
