import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from common.data import DataError
from reuters_losses import evaluate, sweep, train
from reuters_losses.data import decode_wire, encode_wire, load_wires, multi_hot


def test_encode_wire_follows_keras_conventions():
    # raw ids 0, 5, 996, 997: shifted by 3 → 3, 8, 999, 1000; 1000 is beyond 1,000 words → OOV 2
    np.testing.assert_array_equal(encode_wire([0, 5, 996, 997], num_words=1000), [1, 3, 8, 999, 2])


def test_multi_hot_by_hand():
    wires = [np.array([1, 4, 4, 2]), np.array([1, 3]), np.array([1])]
    expected = np.array([[0, 1, 1, 0, 1], [0, 1, 0, 1, 0], [0, 1, 0, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(multi_hot(wires, num_words=5), expected)
    with pytest.raises(ValueError, match="does not fit"):
        multi_hot([np.array([7])], num_words=5)


def test_keras_split_of_the_real_file(data_dir):
    (train_wires, y_train), (test_wires, y_test) = load_wires(data_dir, num_words=1000)
    assert (len(train_wires), len(test_wires)) == (8982, 2246)
    assert len(np.unique(np.concatenate([y_train, y_test]))) == 46
    assert max(w.max() for w in train_wires) == 999 and all(w[0] == 1 for w in test_wires)
    # Keras' first training wire after its seed-113 shuffle (a well-known example)
    assert len(train_wires[0]) == 87 and y_train[0] == 3


def test_decode(data_dir):
    from reuters_losses.data import load_word_index

    (train_wires, _), _ = load_wires(data_dir, num_words=1000)
    text = decode_wire(train_wires[0][:6], load_word_index(data_dir))
    assert text.startswith("? ? ? said as a")


def test_corrupt_npz_is_refused_before_unpickling(tmp_path, monkeypatch):
    (tmp_path / "reuters").mkdir()
    (tmp_path / "reuters" / "reuters.npz").write_bytes(b"not the published file")

    def forbidden(*args, **kwargs):
        raise AssertionError("np.load was called on an unverified file")

    monkeypatch.setattr(np, "load", forbidden)
    with pytest.raises(DataError, match="sha256"):
        load_wires(tmp_path)


def test_vectorizing_all_wires(data_dir):
    (train_wires, _), (test_wires, _) = load_wires(data_dir, num_words=1000)
    wires = train_wires + test_wires
    x = multi_hot(wires, 1000)
    assert x.shape == (11228, 1000) and x[:, 1].all()
    assert x[5, wires[5]].all() and x[5].sum() == len(np.unique(wires[5]))


def sweep_args(tmp_path, data_dir, *extra):
    return sweep.parse_args(["--data-dir", str(data_dir), "--epochs", "2", "--out",
                             str(tmp_path / "sweep"), *extra])  # fmt: skip


@pytest.mark.slow
def test_two_pair_sweep_writes_everything_and_resumes(tmp_path, data_dir, capsys):
    argv = ["--data-dir", str(data_dir), "--epochs", "2", "--out", str(tmp_path / "sweep"),
            "--pairs", "softmax:categorical_crossentropy", "sigmoid:mse"]  # fmt: skip
    sweep.main(argv)
    out = tmp_path / "sweep"
    for name in ["summary.csv", "summary.md", "val_accuracy.png", "loss.png", "grad_norm.png"]:
        assert (out / name).exists(), name
    run = out / "softmax-categorical_crossentropy-seed0"
    for name in ["config.json", "history.csv", "metrics.json", "model.keras", "curves.png"]:
        assert (run / name).exists(), name
    history = pd.read_csv(run / "history.csv")
    assert len(history) == 2 and (history["grad_norm"] > 0).all()
    assert history["loss"].iloc[1] < history["loss"].iloc[0]
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2
    assert {"activation", "loss", "optimizer", "epochs", "seeds", "train_accuracy",
            "val_accuracy", "test_accuracy", "test_macro_f1", "best_epoch"} <= set(summary.columns)
    text = (out / "summary.md").read_text()
    assert "majority class" in text and text.splitlines()[2].startswith("Honest protocol")
    assert f"`python reuters_losses/sweep.py {' '.join(argv)}`" in text

    # evaluate scores the kept checkpoint on the test split: the figure metrics.json holds
    evaluate.main([str(run), "--data-dir", str(data_dir)])
    scores = json.loads((run / "evaluation.json").read_text())
    saved = json.loads((run / "metrics.json").read_text())
    assert scores["test_accuracy"] == pytest.approx(saved["test_accuracy"], abs=1e-6)
    assert scores["test_top3_accuracy"] >= scores["test_accuracy"]
    assert (run / "confusion.png").exists()
    assert "Most confused" in (run / "evaluation.md").read_text()

    stamp = (run / "metrics.json").stat().st_mtime_ns
    shutil.rmtree(out / "sigmoid-mse-seed0")
    time.sleep(0.01)
    capsys.readouterr()
    sweep.main(argv)
    assert "skipping 1 complete run(s) of 2" in capsys.readouterr().err
    assert (run / "metrics.json").stat().st_mtime_ns == stamp
    assert (out / "sigmoid-mse-seed0" / "metrics.json").exists()


@pytest.mark.slow
def test_same_seed_same_metrics(tmp_path, data_dir):
    def once(name):
        argv = ["--data-dir", str(data_dir), "--epochs", "2", "--activation", "sigmoid",
                "--loss", "binary_crossentropy", "--quiet", "--out", str(tmp_path / name)]
        return train.run(vars(train.parse_args(argv)))

    assert once("a") == once("b")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--activation", "tanh"], "invalid choice: 'tanh'"),
        (["--loss", "hinge"], "invalid choice: 'hinge'"),
        (["--epochs", "0"], "must be in [1, inf)"),
        (["--lr", "-1"], "must be in (0, inf)"),
        (["--dropout", "1.5"], "must be in [0, 1)"),
        (["--hidden", "64,x"], "comma-separated integers"),
    ],
)
def test_bad_train_flags(argv, message, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(argv)
    assert message in capsys.readouterr().err


def test_decode_prints_words(data_dir, capsys):
    train.main(["--data-dir", str(data_dir), "--decode", "1"])
    assert capsys.readouterr().out.startswith("[topic 3] ? ? ? said as a result of its december")


def test_bad_sweep_pair(capsys):
    with pytest.raises(SystemExit):
        sweep.parse_args(["--pairs", "softmax:hinge"])
    assert "ACTIVATION:LOSS" in capsys.readouterr().err
