"""Git probes: which commit the working tree is at, and whether it has uncommitted changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platformctl import process
from platformctl.errors import PlatformctlError


@dataclass(frozen=True)
class TreeState:
    commit: str
    dirty: bool
    # The first few changed paths, so a refusal can say what is uncommitted.
    changed: tuple[str, ...] = ()


def tree_state(root: Path) -> TreeState:
    """HEAD and dirtiness of the repository holding `root`; untracked files count as dirty
    (an untracked .tf file changes a plan as much as an edited one)."""
    head = process.capture(["git", "rev-parse", "--verify", "HEAD"], cwd=root)
    if head.returncode != 0:
        raise PlatformctlError(
            f"{root} is not a git repository with a commit: gated plans are bound to a commit, so commit the "
            "platform code first."
        )
    status = process.capture(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root)
    if status.returncode != 0:
        raise PlatformctlError(f"git status failed in {root}: {status.stderr.strip() or 'no output'}")
    changed = tuple(line[3:] for line in status.stdout.splitlines() if line.strip())
    return TreeState(commit=head.stdout.strip(), dirty=bool(changed), changed=changed[:5])
