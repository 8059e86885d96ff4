"""How the modules connect: no import circle among the project's own modules (module-level
imports), no library module imports the CLI helpers, and no script imports another script."""

import ast
from graphlib import CycleError, TopologicalSorter

from tests.conftest import REPO

PACKAGES = ("common", "landmarks", "phone_price", "reuters_losses")
SCRIPTS = {"landmarks": {"train", "evaluate", "predict", "export", "model_card", "sweep",
                         "ablation", "export_client"},
           "phone_price": {"train", "evaluate", "compare"},
           "reuters_losses": {"train", "evaluate", "sweep", "baselines", "best"}}


# Modules of the command-line layer itself: they add flags (the sweep flags, Reuters' training
# flags) and may use common.cli's argparse types.
FLAG_MODULES = {"common.sweep", "reuters_losses.flags"}


def modules() -> dict[str, ast.Module]:
    return {f"{path.parent.name}.{path.stem}": ast.parse(path.read_text())
            for package in PACKAGES for path in (REPO / package).glob("*.py")
            if path.stem != "__init__"}


def imported(tree: ast.Module, *, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_import_circle_among_the_projects_modules():
    trees = modules()
    graph = {name: {m for m in imported(tree, top_level_only=True) if m in trees}
             for name, tree in trees.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle: {' → '.join(exc.args[1])}") from None


def test_library_modules_do_not_import_the_cli_and_scripts_do_not_import_scripts():
    scripts = {f"{package}.{name}" for package, names in SCRIPTS.items() for name in names}
    for name, tree in modules().items():
        names = imported(tree, top_level_only=False)
        if name.startswith("common.") or name not in scripts:
            allowed_cli = name in FLAG_MODULES or name in scripts
            assert allowed_cli or "common.cli" not in names, f"{name} imports common.cli"
        if name in scripts:
            assert not names & (scripts - {name}), f"{name} imports {names & scripts}"
