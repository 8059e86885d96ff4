"""What produced a run: the Python, platform and package versions, and the code's git commit."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "matplotlib", "pillow")


def code_version() -> dict:
    """The git commit of the code that ran, and whether the tree had uncommitted changes
    (both None outside a git checkout)."""
    import subprocess

    from common.paths import REPO_ROOT as repo

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


def package_versions() -> dict:
    versions = {"python": sys.version.split()[0], "platform": platform.platform(),
                **code_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
