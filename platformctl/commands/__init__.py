"""Typer commands: parse, call a core module, render. Each module has register(app)."""
