"""Every committed .terraform.lock.hcl admits hashicorp/aws 5.100.0 on every platform: the 15
official `zh:` hashes (the SHA-256 sums of the release's zips, the same in every public lock
file for 5.100.0) beside the linux_amd64 `h1:` our mirror's package matches; and `init` from
the offline mirror accepts the file without rewriting it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from terraform.tf_helpers import REPO, TERRAFORM_DIR, Terraform

VERSION = "5.100.0"
ZH = [
    "054b8dd49f0549c9a7cc27d159e45327b7b65cf404da5e5a20da154b90b8a644",
    "0b97bf8d5e03d15d83cc40b0530a1f84b459354939ba6f135a0086c20ebbe6b2",
    "1589a2266af699cbd5d80737a0fe02e54ec9cf2ca54e7e00ac51c7359056f274",
    "6330766f1d85f01ae6ea90d1b214b8b74cc8c1badc4696b165b36ddd4cc15f7b",
    "7c8c2e30d8e55291b86fcb64bdf6c25489d538688545eb48fd74ad622e5d3862",
    "99b1003bd9bd32ee323544da897148f46a527f622dc3971af63ea3e251596342",
    "9b12af85486a96aedd8d7984b0ff811a4b42e3d88dad1a3fb4c0b580d04fa425",
    "9f8b909d3ec50ade83c8062290378b1ec553edef6a447c56dadc01a99f4eaa93",
    "aaef921ff9aabaf8b1869a86d692ebd24fbd4e12c21205034bb679b9caf883a2",
    "ac882313207aba00dd5a76dbd572a0ddc818bb9cbf5c9d61b28fe30efaec951e",
    "bb64e8aff37becab373a1a0cc1080990785304141af42ed6aa3dd4913b000421",
    "dfe495f6621df5540d9c92ad40b8067376350b005c637ea6efac5dc15028add4",
    "f0ddf0eaf052766cfe09dea8200a946519f653c384ab4336e2a4a64fdd6310e9",
    "f1b7e684f4c7ae1eed272b6de7d2049bb87a0275cb04dbb7cda6636f600699c9",
    "ff461571e3f233699bf690db319dfe46aec75e58726636a0d97dd9ac6e32fb70",
]


def committed_lock_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.terraform.lock.hcl"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return [REPO / name for name in listed]


def hashes(path: Path) -> list[str]:
    text = path.read_text()
    block = re.search(r'provider "registry\.terraform\.io/hashicorp/aws" \{(.*?)\n\}', text, re.S)
    assert block, f"{path} locks no hashicorp/aws"
    assert f'version     = "{VERSION}"' in block.group(1)
    return re.findall(r'"((?:h1|zh):[^"]+)"', block.group(1))


def test_every_lock_file_holds_all_fifteen_zh_hashes_and_the_h1() -> None:
    files = committed_lock_files()
    assert {p.parent.name for p in files} >= {"local", "dev", "prod"}
    assert len(ZH) == 15
    for path in files:
        found = hashes(path)
        zh = [h.removeprefix("zh:") for h in found if h.startswith("zh:")]
        assert zh == ZH, f"{path}: zh: hashes missing {sorted(set(ZH) - set(zh))}, or out of Terraform's order"
        assert len([h for h in found if h.startswith("h1:")]) >= 1, f"{path} lost its h1: hash"
        assert found == sorted(found), f"{path}: hashes not sorted as Terraform writes them"


def test_init_from_the_mirror_leaves_every_lock_file_byte_identical(terraform: Terraform, tf_tree: Path) -> None:
    """tf_tree ran `terraform init` (offline, the filesystem mirror) in a copy of every root."""
    for path in committed_lock_files():
        copy = tf_tree / path.relative_to(TERRAFORM_DIR)
        assert (copy.parent / ".terraform").is_dir(), f"{copy.parent} was not initialised"
        assert copy.read_bytes() == path.read_bytes(), f"init rewrote {path.relative_to(REPO)}"
    # And a read-only lock (what CI's TF_CLI_ARGS_init=-lockfile=readonly does) is accepted as is.
    folder = tf_tree / "environments" / "prod"
    terraform.run(folder, "init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly")
