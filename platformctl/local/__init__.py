"""The local environment on an emulator: up, down, status and its state files (its isolation
from real AWS is emulators/isolation.py).
"""
