"""``pip install .`` gives a tool that works from any folder: the shipped model travels with the
package, outputs go to the working folder, and nothing is written inside site-packages."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package installed (without its dependencies) under a fresh prefix; the environment
    that runs it from there, with this environment's dependencies but not its editable copy."""
    prefix = tmp_path_factory.mktemp("prefix")
    source = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "tensorboard", "*.egg-info", "build", "__pycache__", "logs"))
    # --ignore-installed: never uninstall the editable copy this suite runs from
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-I",
                           "--prefix", str(prefix), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"pip could not build the package here: {done.stderr[-300:]}")
    site = next(prefix.glob("lib/python*/site-packages"))
    dependencies = sysconfig.get_paths()["purelib"]
    # python -S: no .pth files, so the editable install of this checkout is not on the path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), dependencies])}
    return prefix, site, env


@pytest.mark.slow
def test_an_installed_predict_uses_the_shipped_model_and_writes_to_the_working_folder(
        installed, tmp_path, data_dir):
    prefix, site, env = installed
    before = sorted(p.relative_to(prefix) for p in prefix.rglob("*") if p.is_file())
    work = tmp_path / "elsewhere"
    work.mkdir()
    photo = data_dir / "ibug_68" / "afw" / "134212_1.jpg"
    done = subprocess.run([sys.executable, "-S", "-m", "landmarks.predict", str(photo)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 face(s)" in done.stdout or "face(s) in 1 of 1" in done.stdout
    written = work / "results" / "landmarks" / "predictions"
    assert (written / "predictions.csv").exists() and list(written.glob("134212_1_face*.pts"))
    after = sorted(p.relative_to(prefix) for p in prefix.rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts)
    assert [p for p in after if p not in before] == []  # nothing written inside the install
    assert not (Path(site) / "results").exists()


@pytest.mark.slow
def test_an_installed_train_writes_results_and_reads_data_of_the_working_folder(
        installed, tmp_path, data_dir):
    _, site, env = installed
    work = tmp_path / "elsewhere"
    (work / "data").mkdir(parents=True)
    (work / "data" / "phone_price").symlink_to(data_dir / "phone_price")
    env = {k: v for k, v in env.items() if k != "EXPERIMENTS_DATA_DIR"}  # ./data, then
    done = subprocess.run([sys.executable, "-S", "-m", "phone_price.train", "--epochs", "1",
                           "--quiet"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (work / "results" / "phone_price" / "classification-global-seed0" /
            "metrics.json").exists()
    assert not (Path(site) / "results").exists()
