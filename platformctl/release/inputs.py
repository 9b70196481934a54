"""The inputs of a gated plan: every file Terraform reads to make it, hashed.

A gated plan is bound to its inputs, not to what git says about them: a global gitignore
(`*_override.tf`), `git update-index --skip-worktree` or `--assume-unchanged` hide files and
edits from `git status`, never from this. The inputs are
- every file under the environment's root (whatever its name: `*_override.tf`, `*.auto.tfvars`,
  the tfbackend file, the lock file, files read with `file()`), symlinks followed;
- every file under each local module the root calls, recursively (`source = "./..."` or
  `"../..."`);
- the module folders `terraform init` recorded in .terraform/modules/modules.json;
- the contract (platform.toml) and the source of the Lambda functions (`functions/`), from
  which the packages the roots deploy are built, and those packages (`build/lambda/*.zip`,
  hashed but, being gitignored build output, not compared with HEAD).
Terraform's own working files (`.terraform/`, state files) and caches are not inputs.

`digest()` maps each input's path (relative to the project root) to its sha256; `uncommitted()`
compares the same files with the commit (git's blob hashes of HEAD, computed here from the
bytes, so no index flag can make a changed file look committed).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from platformctl import process
from platformctl.errors import ContractError, PlatformctlError
from platformctl.project import hcl
from platformctl.project.contract import Environment, Project

# Folders and files under a root or module that Terraform writes, never reads as input.
_SKIP_DIRS = frozenset({".terraform", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SKIP_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan", ".pyc", ".pyo")
_SKIP_NAMES = frozenset({".terraform.tfstate.lock.info", "crash.log"})
FUNCTIONS_DIR = "functions"
# A root that calls more than this many module folders is not one this gate was built for.
_MAX_MODULES = 200


def _skipped(name: str) -> bool:
    return name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES) or ".tfstate." in name


def _files_under(folder: Path) -> list[Path]:
    """Every regular file under `folder`, following symlinked files (not symlinked folders,
    whose targets are listed where they live, if they are inputs at all)."""
    found: list[Path] = []
    for current, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        here = Path(current)
        for name in sorted(names):
            if not _skipped(name):
                found.append(here / name)
        for name in dirs:
            if (here / name).is_symlink():
                raise ContractError(
                    f"{here / name} is a symlinked folder inside a gated root: gated inputs must be real folders; "
                    "replace the link with the files."
                )
    return found


def _initialized_module_folders(root: Path) -> list[Path]:
    """The module folders `terraform init` recorded in .terraform/modules/modules.json (what
    plan really reads, should that file have been edited to point elsewhere)."""
    import json

    listing = root / ".terraform" / "modules" / "modules.json"
    try:
        modules = json.loads(listing.read_text()).get("Modules", [])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError) as exc:
        raise ContractError(f"{listing} is unreadable ({exc}): remove {root / '.terraform'} and run again.") from exc
    folders = []
    for module in modules if isinstance(modules, list) else []:
        folder = module.get("Dir") if isinstance(module, dict) else None
        if isinstance(folder, str) and folder not in ("", "."):
            target = (root / folder).resolve()
            if target.is_dir() and target != root.resolve():
                folders.append(target)
    return folders


def module_folders(root: Path) -> list[Path]:
    """The local module folders a root calls, recursively, and those init recorded (registry
    and git modules are pinned by .terraform.lock.hcl and their version, not hashed here)."""
    seen: list[Path] = []
    for folder in _initialized_module_folders(root):
        if folder not in seen:
            seen.append(folder)
    pending = [root, *seen]
    while pending:
        folder = pending.pop()
        for tf in sorted(folder.glob("*.tf")):
            for block in hcl.load(tf).get("module", []):
                for settings in block.values():
                    source = settings.get("source") if isinstance(settings, dict) else None
                    if not isinstance(source, str) or not source.startswith(("./", "../")):
                        continue
                    target = (folder / source).resolve()
                    if target.is_dir() and target not in seen and target != root.resolve():
                        seen.append(target)
                        pending.append(target)
        if len(seen) > _MAX_MODULES:
            raise ContractError(
                f"{root} calls more than {_MAX_MODULES} local module folders: is a module calling itself?"
            )
    return sorted(seen)


def input_files(project: Project, environment: Environment) -> list[Path]:
    files = _files_under(environment.directory)
    for folder in module_folders(environment.directory):
        files += _files_under(folder)
    files.append(project.contract_path)
    functions = project.root / FUNCTIONS_DIR
    if functions.is_dir():
        files += _files_under(functions)
    return files


BUILD_DIR = Path("build") / "lambda"


def built_files(project: Project) -> list[Path]:
    """The Lambda packages the roots deploy (gitignored, rebuilt byte for byte from
    functions/ before every plan and apply): inputs, but never compared with HEAD."""
    folder = project.root / BUILD_DIR
    return sorted(folder.glob("*.zip")) if folder.is_dir() else []


def _name(project: Project, path: Path) -> str:
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PlatformctlError(f"Cannot read {path} ({exc.strerror or exc}): a gated plan hashes every input.") from exc


def digest(project: Project, environment: Environment) -> dict[str, str]:
    """{path relative to the project root: sha256} of every input of the environment's plan."""
    result: dict[str, str] = {}
    for path in [*input_files(project, environment), *built_files(project)]:
        result[_name(project, path)] = hashlib.sha256(_read(path)).hexdigest()
    return dict(sorted(result.items()))


def differences(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Paths added, removed or changed between two digests, sorted."""
    names = set(recorded) | set(current)
    return sorted(n for n in names if recorded.get(n) != current.get(n))


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def committed_blobs(root: Path) -> dict[str, str]:
    """{path: blob sha1} of every file in HEAD (`git ls-tree`: the commit, never the index)."""
    result = process.capture(["git", "ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=root)
    if result.returncode != 0:
        raise PlatformctlError(
            f"{root} is not a git repository with a commit: gated plans are bound to a commit, so commit the "
            "platform code first."
        )
    blobs: dict[str, str] = {}
    for entry in result.stdout.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            mode, _kind, sha = parts
            blobs[path] = f"{mode}:{sha}"
    return blobs


def uncommitted(project: Project, files: Iterable[Path]) -> list[str]:
    """The inputs whose bytes differ from HEAD (or that HEAD does not hold), sorted.

    The repository is the one holding platform.toml; paths are compared relative to its top.
    """
    top = process.capture(["git", "rev-parse", "--show-toplevel"], cwd=project.root)
    if top.returncode != 0:
        raise PlatformctlError(
            f"{project.root} is not a git repository with a commit: gated plans are bound to a commit, so commit "
            "the platform code first."
        )
    toplevel = Path(top.stdout.strip()).resolve()
    blobs = committed_blobs(project.root)
    changed: list[str] = []
    for path in files:
        absolute = Path(os.path.abspath(path))
        checks = [(absolute, absolute.is_symlink())]
        if absolute.is_symlink():  # the link (as git stores it) and the file it points to
            checks.append((absolute.resolve(), False))
        for real, as_link in checks:
            try:
                name = real.relative_to(toplevel).as_posix()
            except ValueError:
                changed.append(_name(project, path))
                continue
            if as_link:
                expected = f"120000:{_git_blob(os.readlink(real).encode())}"
            else:
                expected = f"100644:{_git_blob(_read(real))}"
            committed = blobs.get(name, "")
            # The mode's file kind matters (a link is not a file); its exec bit does not.
            if committed.split(":")[-1] != expected.split(":")[-1] or (
                committed.startswith("120000") != expected.startswith("120000")
            ):
                changed.append(_name(project, path))
    return sorted(set(changed))
