"""The README: its tables are generated from results/ and agree with them, and every command in
its code blocks works on a fresh clone (those that train are started with --help)."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from common.report import PAGES, README, render
from tests.conftest import REPO

# Scripts that train or sweep: the test only starts them (--help); the others run for real.
TRAINS = ("train.py", "sweep.py", "compare.py", "ablation.py", "baselines.py", "best.py")
# Needs the export the command before it writes (into the test's own folder): its behaviour is
# test_results.py's test_an_export_alone_gives_predict_pys_points; here its --help.
HELP_ONLY = ("export_client.py",)
# README placeholders: a user's own files, a cluster's storage (not commands to run here).
PLACEHOLDERS = ("my_phones.csv", "/shared/", "HEAD:", "my_faces")


def readme_commands() -> list[str]:
    """Every ``python …`` line of the README pages' bash blocks (continuations joined)."""
    commands = []
    text = "\n".join(page.read_text() for page in PAGES if page.exists())
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("python ") and not any(p in part for p in PLACEHOLDERS):
                    commands.append(part)
    return list(dict.fromkeys(commands))  # a command shown on two pages is run once


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_readme_tables_match_the_results_folder(page):
    text = page.read_text()
    assert render(text, page) == text, f"{page} is out of date: run python -m common.report"


def test_every_experiment_has_a_generated_page_and_the_front_page_is_short():
    assert all(page.exists() and "<!-- report:" in page.read_text() for page in PAGES[1:])
    assert len(README.read_text().splitlines()) <= 140


def test_the_readme_gives_the_test_command_ci_runs():
    """.ci/run runs the README's test command: the line of the set-up block that runs pytest."""
    setup = re.search(r"## Set-up.*?```bash\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    tests = [line for line in setup.splitlines() if re.search(r"(^|&& )pytest( |$)", line)]
    assert len(tests) == 1
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^pytest\s*$", ci, re.MULTILINE)
    assert "-r requirements.txt" in tests[0] and "-r requirements.txt" in ci


def test_the_readme_has_commands_to_check():
    commands = readme_commands()
    assert len(commands) > 20
    assert any("landmarks/predict.py" in c for c in commands)


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_works_on_a_fresh_clone(command, tmp_path, data_dir):
    argv = shlex.split(os.path.expandvars(command.replace("$EXPERIMENTS_DATA_DIR",
                                                          str(data_dir))))
    script = argv[1] if argv[1] != "-m" else argv[2]
    verbatim = None
    if script.endswith(TRAINS + HELP_ONLY) or script.startswith("benchmarks/"):
        argv = argv[:2] + ["--help"]
    elif script.startswith(("phone_price/evaluate", "reuters_losses/evaluate")):
        verbatim = argv[2]  # into the committed run folder, as a user runs it: git must not see
    elif script.endswith(("evaluate.py", "predict.py", "export.py")):
        if "--out" in argv:  # committed run folders and the clone stay as they are
            argv[argv.index("--out") + 1] = str(tmp_path / "out")
        else:
            argv += ["--out", str(tmp_path / "out")]
    env = {**os.environ, "EXPERIMENTS_DATA_DIR": str(data_dir)}
    before = git_status(verbatim) if verbatim else None
    done = subprocess.run([sys.executable, *argv[1:]], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
    if verbatim:
        assert git_status(verbatim) == before, f"{command} changed what git tracks"


@pytest.mark.slow
def test_a_normal_command_prints_nothing_on_stderr_that_is_not_ours(tmp_path, data_dir):
    from benchmarks.cli_startup import NOISE

    env = {**os.environ, "EXPERIMENTS_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "phone_price/train.py", "--epochs", "1", "--out",
                           str(tmp_path / "run")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    noise = [line for line in done.stderr.splitlines() if NOISE.search(line)]
    assert not noise, noise
    assert "epoch 1/1" in done.stdout  # not a terminal: plain lines, no carriage returns
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout



def git_status(*paths) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", *paths],
                          cwd=REPO, capture_output=True, text=True, check=True).stdout


def test_the_landmark_tools_default_outputs_are_where_git_ignores_them():
    """The README's landmark evaluate, export and predict, run verbatim, leave a clone clean
    (the phone and Reuters evaluate commands are run verbatim above)."""
    from landmarks import predict

    run = "results/landmarks/ibug68-mobilenetv2-128px"
    defaults = [f"{run}/evaluate/nme_val.json", f"{run}/export/model.tflite",
                f"{run}/export/savedmodel/saved_model.pb",
                f"{predict.DEFAULT_OUT.relative_to(REPO)}/134212_1.pts"]
    ignored = subprocess.run(["git", "check-ignore", *defaults], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    assert ignored == defaults
