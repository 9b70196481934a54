"""The console script's entry point (`platformctl`, and `python -m platformctl`).

`platformctl --help` alone is answered from a cached copy of the help text when one matches:
the text is what Typer printed before, keyed by everything that shapes it (the files of the
CLI layer, Typer's own files, the width it is laid out for), so it cannot go stale; on a miss,
Typer renders it and the cache keeps it. That saves Typer's import and the building of every
command (four times Python's own start-up) on the command people run first. Everything else
goes to the Typer app in platformctl/cli.py.
"""

from __future__ import annotations

import sys

HELP_FLAGS = (["--help"], ["-h"])
NAMESPACE, ENTRY = "help", "top-level"


def help_key() -> str | None:
    """What the top-level help text depends on, or None when it cannot be told cheaply. Kept
    whole beside the text and compared as it is (no hash: OpenSSL's load alone costs more
    than the rest of this path)."""
    import importlib.util
    import shutil
    from pathlib import Path

    from platformctl import __version__, cache

    package = Path(__file__).resolve().parent
    sources = [package / "cli.py", *sorted((package / "commands").glob("*.py"))]
    typer_spec = importlib.util.find_spec("typer")
    if typer_spec is None or typer_spec.origin is None:
        return None
    identities = [cache.file_identity(path) for path in [*sources, Path(typer_spec.origin)]]
    if None in identities:
        return None
    # click lays help out at the terminal's width, capped at 80 columns.
    width = min(shutil.get_terminal_size().columns, 80)
    return "\n".join([__version__, str(width), *(identity or "" for identity in identities)])


def cached_help() -> bool:
    """Print the top-level help from the cache (writing it first on a miss); False if it cannot."""
    from platformctl import cache

    key = help_key()
    if key is None:
        return False
    entry = cache.get(NAMESPACE, ENTRY)
    text = entry.get("text") if isinstance(entry, dict) and entry.get("key") == key else None
    if not isinstance(text, str):
        from platformctl.cli import help_text

        text = help_text()
        cache.put(NAMESPACE, ENTRY, {"key": key, "text": text})
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return True


def main() -> None:
    if sys.argv[1:] in HELP_FLAGS and cached_help():
        return
    from platformctl.cli import main as run

    run()


if __name__ == "__main__":
    main()
