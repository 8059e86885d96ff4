"""Where outputs and data go by default, whatever the working directory.

In a checkout (the folder holding pyproject.toml), the defaults are the repository's own
``results/`` and ``data/``, so ``python <repo>/phone_price/train.py`` run from anywhere writes to
the same place. An installed package (``pip install .``) has no repository: its defaults are
``results/`` and ``data/`` of the working folder, and nothing is written inside site-packages.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds common/
IN_CHECKOUT = (PACKAGE_ROOT / "pyproject.toml").is_file()
REPO_ROOT = PACKAGE_ROOT if IN_CHECKOUT else Path.cwd().resolve()
DISTRIBUTION = "output-layer-experiments"
SHIPPED_DATA = f"share/{DISTRIBUTION}"  # where pyproject.toml's data-files install


def repo_path(*parts: str) -> Path:
    """``<repository or working folder>/<parts...>``, an absolute path."""
    return REPO_ROOT.joinpath(*parts)


def shipped_path(*parts: str) -> Path:
    """A file the repository ships under results/ (a shipped model): the checkout's own copy,
    else the one the installed package carries as data (``share/<distribution>/…``)."""
    if IN_CHECKOUT:
        return PACKAGE_ROOT.joinpath("results", *parts)
    from importlib import metadata

    from common.errors import UserError

    wanted = "/".join((SHIPPED_DATA, *parts))
    try:
        files = metadata.distribution(DISTRIBUTION).files or ()
    except metadata.PackageNotFoundError:
        files = ()
    for file in files:
        text = file.as_posix()
        if text.endswith(wanted):
            return Path(file.locate()).resolve()
        if f"{wanted}/" in text:  # a file inside the shipped folder: the folder
            depth = text.split(f"{wanted}/", 1)[1].count("/")
            return Path(file.locate()).resolve().parents[depth]
    raise UserError(f"the installed package carries no {'/'.join(parts)}; reinstall it "
                    f"(pip install .) from a checkout of the repository")


def shown(path) -> str:
    """``path`` relative to the repository where it lies inside it (for messages and records:
    no machine path), else as given."""
    path = Path(path)
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)
