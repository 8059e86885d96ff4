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


def test_import_common_installs_nothing_and_run_cli_quiets_tensorflow():
    """A library user's ``import common`` leaves the import machinery alone; a script's
    ``run_cli`` holds TensorFlow's start-up lines back (oneDNN, CUDA probing) and its
    retracing warning."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("EXPERIMENTS_TF_NOISE", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    plain = subprocess.run(
        [sys.executable, "-c", "import sys, common, common.runs, landmarks.geometry; "
         "print(sorted(type(f).__name__ for f in sys.meta_path if 'Quiet' in type(f).__name__))"],
        capture_output=True, text=True, env=env, check=True)
    assert plain.stdout.strip() == "[]"
    script = ("from common.cli import run_cli\n"
              "def main(argv):\n"
              "    import tensorflow as tf\n"
              "    f = tf.function(lambda x: x + 1)\n"
              "    for n in range(1, 9):  # a new shape each call: the retracing warning\n"
              "        f(tf.ones([n]))\n"
              "    print(tf.constant(2).numpy() * 21)\n"
              "run_cli(main)\n")
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, check=True)
    assert quiet.stdout.strip() == "42"
    assert quiet.stderr == ""
