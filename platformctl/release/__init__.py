"""The approval gate of gated environments: saved plans, their manifest, what binds them
(inputs, engine, backend, git), the variables refused.
"""
