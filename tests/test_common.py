import hashlib
import http.server
import json
import threading
from functools import partial

import numpy as np
import pandas as pd
import pytest

from common.data import data_root, fetch
from common.errors import UserError
from common.files import write_json
from common.runs import finish_run, is_complete
from common.sweep import aggregate, mean_std
from phone_price.normalization import apply_normalization, fit_normalization


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server over tmp_path/served, stopped after the test."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPERIMENTS_DATA_DIR", str(tmp_path / "env"))
    assert data_root(tmp_path / "flag") == tmp_path / "flag"
    assert data_root(None) == tmp_path / "env"
    monkeypatch.delenv("EXPERIMENTS_DATA_DIR")
    assert data_root(None).name == "data"


def test_fetch_downloads_and_verifies(http_root, tmp_path):
    served, url = http_root
    payload = b"a,b\n1,2\n"
    (served / "file.csv").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    path = fetch("set/file.csv", url + "file.csv", good, tmp_path / "root")
    assert path == tmp_path / "root" / "set" / "file.csv"
    assert path.read_bytes() == payload


def test_fetch_refuses_a_download_with_the_wrong_hash(http_root, tmp_path):
    served, url = http_root
    (served / "file.csv").write_bytes(b"tampered")
    with pytest.raises(UserError, match="could not be downloaded"):
        fetch("set/file.csv", url + "file.csv", "0" * 64, tmp_path / "root")
    assert not (tmp_path / "root" / "set" / "file.csv").exists()


def test_fetch_refuses_a_local_file_with_the_wrong_hash(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "file.csv").write_bytes(b"corrupt")
    with pytest.raises(UserError, match="sha256"):
        fetch("set/file.csv", None, "0" * 64, tmp_path)


def test_fetch_without_network_names_what_where_and_source(tmp_path):
    url = "http://127.0.0.1:9/missing.csv"  # discard port: connection refused
    with pytest.raises(UserError) as err:
        fetch("set/missing.csv", url, "0" * 64, tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert "set/missing.csv" in message and str(tmp_path) in message and url in message


def test_normalization_modes():
    x = np.array([[1.0, 100.0], [3.0, 300.0]])
    glob = fit_normalization(x, "global")
    assert glob["mean"] == [101.0] and np.isclose(glob["std"][0], x.std())
    per = apply_normalization(x, fit_normalization(x, "per-feature"))
    np.testing.assert_allclose(per, [[-1, -1], [1, 1]])
    np.testing.assert_array_equal(apply_normalization(x, fit_normalization(x, "none")), x)
    constant = fit_normalization(np.ones((3, 2)), "per-feature")
    assert np.isfinite(apply_normalization(np.ones((3, 2)), constant)).all()
    with pytest.raises(ValueError, match="per-feature"):
        fit_normalization(x, "minmax")


def test_write_json_is_atomic_and_metrics_mark_completion(tmp_path):
    from common.files import atomic_path

    write_json(tmp_path / "a.json", {"x": np.float32(1.5)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]

    def half_then_crash(tmp):  # a writer killed half-way: the old file must stay whole
        tmp.write_text('{"x": 2')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_path(tmp_path / "a.json", half_then_crash)
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left
    assert not is_complete(tmp_path)
    with pytest.raises(TypeError):
        finish_run(tmp_path, {"val_accuracy": "high"})
    assert not is_complete(tmp_path)
    finish_run(tmp_path, {"val_accuracy": 0.5})
    assert is_complete(tmp_path)


def test_aggregate_mean_and_sample_std():
    frame = pd.DataFrame({"pair": ["a", "a", "b"], "acc": [0.5, 0.7, 0.9]})
    table = aggregate(frame, ["pair"], ["acc"])
    assert table["seeds"].tolist() == [2, 1]
    np.testing.assert_allclose(table["acc"], [0.6, 0.9])
    np.testing.assert_allclose(table["acc_std"], [np.std([0.5, 0.7], ddof=1), 0.0])
    assert mean_std(table, "acc") == ["0.600 ± 0.141", "0.900"]


def test_saved_model_path_names_the_trainer(tmp_path):
    from common.saved_models import saved_model_path

    with pytest.raises(UserError, match="has no model.keras; train first with x/train.py"):
        saved_model_path(tmp_path, "x/train.py")
    (tmp_path / "model.keras").write_bytes(b"")
    assert saved_model_path(tmp_path, "x/train.py") == tmp_path / "model.keras"


def test_run_cli_turns_data_and_permission_errors_into_one_line(capsys):
    from common.cli import run_cli

    def bad_data(argv):
        raise UserError("x.csv is missing")

    def no_permission(argv):
        raise PermissionError(13, "Permission denied", "/ro/metrics.json")

    def interrupted(argv):
        raise KeyboardInterrupt

    for main, code, message in [(bad_data, 2, "error: x.csv is missing"),
                                (no_permission, 2, "cannot write /ro/metrics.json"),
                                (interrupted, 130, "run the same command again")]:
        with pytest.raises(SystemExit) as exit_:
            run_cli(main, [])
        err = capsys.readouterr().err
        assert exit_.value.code == code and message in err and err.count("\n") == 1
    seen = []
    run_cli(seen.append, ["--a"])
    assert seen == [["--a"]]


def test_number_types_name_the_range():
    import argparse
    import re

    from common.cli import dropout_rate, fraction, layer_sizes, positive_int

    assert positive_int("3") == 3 and fraction("0.5") == 0.5 and dropout_rate("0") == 0.0
    for parse, text, message in [(positive_int, "0", "[1, inf)"), (fraction, "1", "(0, 1)"),
                                 (dropout_rate, "1.5", "[0, 1)"), (fraction, "nan", "(0, 1)"),
                                 (positive_int, "x", "expected a int")]:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            parse(text)
    assert layer_sizes("64,32") == [64, 32] and layer_sizes("none") == []


def test_a_bad_parameter_is_named_and_the_cli_shows_the_scripts_own_flag(capsys):
    from common.cli import new_parser, run_cli
    from common.errors import ParameterError
    from common.validation import check_choice, check_number

    with pytest.raises(ValueError, match="unknown head 'x'; choose one of a, b") as raised:
        check_choice("head", "x", ("a", "b"))
    assert isinstance(raised.value, ParameterError) and raised.value.param == "head"
    with pytest.raises(ParameterError, match=r"batch_size must be in \[1, inf\], got 0"):
        check_number("batch_size", 0, low=1, integer=True)

    def main(argv):
        new_parser("a test script").add_argument("--head-name", dest="head")
        check_choice("head", "x", ("a", "b"))

    for name in ("head", "no_such_flag"):
        def failing(argv, name=name):
            new_parser("another").add_argument("--out")
            raise ParameterError(name, f"{name} is wrong")

        with pytest.raises(SystemExit):
            run_cli(failing)
        assert capsys.readouterr().err == f"error: parameter {name}: {name} is wrong\n"
    with pytest.raises(SystemExit) as stopped:
        run_cli(main)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == ("error: argument --head-name: unknown head 'x'; choose "
                                       "one of a, b\n")


def test_command_line_is_the_real_argv():
    from common.cli import command_line

    assert command_line("a/b.py", ["--seeds", "0", "1", "--out", "my dir"]) == \
        "python a/b.py --seeds 0 1 --out 'my dir'"
    # B68: where the data lay is no part of a summary's command
    assert command_line("a/b.py", ["--data-dir", "/tmp/x", "--seeds", "0", "--data-dir=/y"]) \
        == "python a/b.py --seeds 0"


def test_a_fit_that_stops_at_its_iteration_limit_says_so_in_one_line(capsys):
    import warnings

    from sklearn.linear_model import LogisticRegression

    from common.selection import fit_clone

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)) * 1000, np.arange(60) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning that escaped would fail here
        model = fit_clone(LogisticRegression(max_iter=1), x, y)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stopped at its iteration limit" in err
    assert model.n_iter_[0] == 1
    fit_clone(LogisticRegression(max_iter=1000), x / 1000, y)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("script_name, argv, message", [
    ("phone_price/train.py", ["--dropout", "1.5"], "--dropout: must be in [0, 1)"),
    ("phone_price/train.py", ["--lr", "0"], "--lr: must be in (0, inf)"),
    ("reuters_losses/train.py", ["--lr", "-1"], "--lr: must be in (0, inf)"),
    ("landmarks/train.py", ["--image-size", "16"], "mobilenetv2 needs at least 32 px"),
    ("landmarks/train.py", ["--weights", "weights.bin"], "expected none, imagenet, or a file"),
    ("landmarks/train.py", ["--lr", "nan"], "--lr: must be in (0, inf)"),
    ("landmarks/train.py", ["--backbone", "small_cnn", "--weights", "imagenet"],
     "small_cnn has no ImageNet weights"),
    ("reuters_losses/train.py", ["--loss", "mse", "--label-smoothing", "0.1"],
     "only categorical_crossentropy"),
])
def test_impossible_flags_are_refused_by_argparse(script_name, argv, message, capsys):
    import importlib

    module = importlib.import_module(script_name.removesuffix(".py").replace("/", "."))
    with pytest.raises(SystemExit) as exit_:
        (getattr(module, "parse_config", None) or module.parse_args)(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
