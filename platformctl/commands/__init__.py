"""The CLI layer: Typer commands that parse, call the core, and render with rich."""
