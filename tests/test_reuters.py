import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from common.errors import UserError
from reuters_losses import evaluate, sweep, train
from reuters_losses.data import decode_wire, encode_wire, load_wires, multi_hot
from reuters_losses.train import parse_config
from reuters_losses.training import train as train_config


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
    with pytest.raises(UserError, match="sha256"):
        load_wires(tmp_path)


def test_vectorizing_all_wires(data_dir):
    (train_wires, _), (test_wires, _) = load_wires(data_dir, num_words=1000)
    wires = train_wires + test_wires
    x = multi_hot(wires, 1000)
    assert x.shape == (11228, 1000) and x[:, 1].all()
    assert x[5, wires[5]].all() and x[5].sum() == len(np.unique(wires[5]))


def sweep_args(tmp_path, data_dir, *extra):
    return sweep.parse_args(["--data-dir", str(data_dir), "--epochs", "2", "--out",
                             str(tmp_path / "sweep"), *extra])


@pytest.mark.slow
def test_two_pair_sweep_writes_everything_and_resumes(tmp_path, data_dir, capsys):
    argv = ["--data-dir", str(data_dir), "--epochs", "2", "--out", str(tmp_path / "sweep"),
            "--pairs", "softmax:categorical_crossentropy", "sigmoid:mse"]
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
    assert f"`python reuters_losses/sweep.py {' '.join(argv[2:])}`" in text  # less --data-dir

    # evaluate scores the kept checkpoint on the test split: the figure metrics.json holds
    evaluate.main([str(run), "--data-dir", str(data_dir)])
    scores = json.loads((run / "evaluate" / "evaluation.json").read_text())
    saved = json.loads((run / "metrics.json").read_text())
    assert scores["test_accuracy"] == pytest.approx(saved["test_accuracy"], abs=1e-6)
    assert scores["test_top3_accuracy"] >= scores["test_accuracy"]
    assert (run / "evaluate" / "confusion.png").exists()
    assert "Most confused" in (run / "evaluate" / "evaluation.md").read_text()

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
        return train_config(parse_config(argv)[0])

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
        parse_config(argv)
    assert message in capsys.readouterr().err


def test_decode_prints_words(data_dir, capsys):
    train.main(["--data-dir", str(data_dir), "--decode", "1"])
    assert capsys.readouterr().out.startswith("[topic 3] ? ? ? said as a result of its december")


def test_bad_sweep_pair(capsys):
    with pytest.raises(SystemExit):
        sweep.parse_args(["--pairs", "softmax:hinge"])
    assert "ACTIVATION:LOSS" in capsys.readouterr().err


def test_output_gradient_norm_equals_the_analytic_softmax_gradient():
    import keras

    from reuters_losses.model import OUTPUT_LAYER, OutputGradientNorm

    rng = np.random.default_rng(0)
    h = rng.normal(size=(5, 7)).astype(np.float32)
    y = np.eye(46, dtype=np.float32)[rng.integers(0, 46, 5)]
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(46, activation="softmax",
                                                                     name=OUTPUT_LAYER)])
    model.compile("sgd", "categorical_crossentropy")
    probe = OutputGradientNorm(h, y)
    probe.set_model(model)
    kernel, bias = (w.numpy().astype(np.float64) for w in model.get_layer(OUTPUT_LAYER).weights)
    logits = h @ kernel + bias
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = np.linalg.norm(h.T @ (p - y) / len(h))  # ∂L/∂W = hᵀ(p − y)/B
    assert probe.norm() == pytest.approx(expected, rel=1e-4)


def test_rescaled_square_loss_by_hand():
    from reuters_losses.model import RescaledMSE

    y_true = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    y_pred = np.array([[0.5, 2.0, -1.0], [3.0, 0.0, 1.0]], np.float32)
    k, m = 2.0, 4.0
    # row 1: (0.5² + 2·(2 − 4)² + 1²) / 3; row 2: (2·(3 − 4)² + 0 + 1²) / 3
    expected = np.mean([(0.25 + 8 + 1) / 3, (2 + 0 + 1) / 3])
    assert float(RescaledMSE(k, m)(y_true, y_pred)) == pytest.approx(expected)
    plain = float(RescaledMSE(1.0, 1.0)(y_true, y_pred))
    assert plain == pytest.approx(np.mean((y_pred - y_true) ** 2))


def test_the_honest_splits_are_disjoint_and_the_test_wires_stay_out(data_dir):
    from reuters_losses.data import load_reuters, protocol_splits, validation_rows

    data = load_reuters(data_dir)
    fit, val = validation_rows(data["labels_train"], seed=0)
    assert len(fit) + len(val) == 8982 and len(val) == 899 and not set(fit) & set(val)
    assert set(np.unique(data["labels_train"][val])) == set(range(46))  # stratified
    splits = protocol_splits(data, protocol="honest", seed=0)
    np.testing.assert_array_equal(splits["val"][0], data["x_train"][val])
    np.testing.assert_array_equal(splits["train"][2], data["labels_train"][fit])
    assert splits["test"][0] is data["x_test"]
    homework = protocol_splits(data, protocol="homework", seed=0)
    assert homework["val"][0] is data["x_test"] and len(homework["train"][0]) == 8982


@pytest.mark.slow
def test_checkpoint_is_chosen_on_validation_and_homework_keeps_the_last_epoch(tmp_path, data_dir):
    def once(*extra):
        argv = ["--data-dir", str(data_dir), "--epochs", "3", "--quiet", "--optimizer", "adam",
                "--out", str(tmp_path / "-".join(extra or ("honest",))), *extra]
        metrics = train_config(parse_config(argv)[0])
        return metrics, pd.read_csv(Path(argv[-1 - len(extra)]) / "history.csv")

    from pathlib import Path

    honest, history = once()
    assert honest["best_epoch"] == int(history["val_accuracy"].idxmax()) + 1
    assert honest["val_accuracy"] == pytest.approx(history["val_accuracy"].max(), abs=1e-6)
    homework, history = once("--protocol", "homework")
    assert homework["best_epoch"] == 3  # the final epoch, chosen on nothing
    assert homework["val_accuracy"] == pytest.approx(history["val_accuracy"].iloc[-1], abs=1e-6)
    assert homework["test_accuracy"] == pytest.approx(homework["val_accuracy"], abs=1e-6)


def test_baselines_keep_each_seed_and_a_rerun_reads_no_wires(tmp_path, data_dir, monkeypatch,
                                                              capsys):
    from reuters_losses import baselines

    monkeypatch.setattr(baselines, "C_GRID", (1.0,))  # what is kept is tested, not the grid
    argv = ["--data-dir", str(data_dir), "--seeds", "0", "--num-words", "50",
            "--out", str(tmp_path)]
    baselines.main(argv)
    assert "baselines [seed 1/1]: linear SVM, TF-IDF, seed 0" in capsys.readouterr().err
    first = (tmp_path / "summary.csv").read_text()
    kept = json.loads((tmp_path / "seeds" / "seed0.json").read_text())
    assert kept["identity"]["num_words"] == 50 and len(kept["rows"]) == 3
    majority = next(r for r in kept["rows"] if r["model"] == "majority class")
    assert majority["test_accuracy"] == pytest.approx(813 / 2246)  # topic 3, Keras' test split

    def no_wires(*args, **kwargs):
        raise AssertionError("read the wires again")

    monkeypatch.setattr(baselines, "load_wires", no_wires)
    baselines.main(argv)
    assert (tmp_path / "summary.csv").read_text() == first
    assert "baselines [" not in capsys.readouterr().err
    with pytest.raises(AssertionError, match="again"):  # other settings are fitted anew
        baselines.main(argv[:-1] + [str(tmp_path)] + ["--val-fraction", "0.2"])


def test_every_sweep_figure_names_its_optimizer_epochs_seeds_and_what_validation_is():
    import pandas as pd

    from reuters_losses.sweep import figure_context

    homework = pd.DataFrame({"optimizer": ["sgd"] * 2, "epochs": [20] * 2, "seed": [0, 0],
                             "protocol": ["homework"] * 2})
    assert figure_context(homework) == ("sgd, 20 epochs, seed 0; validation = Keras' test "
                                        "wires (homework protocol, leaky)")
    honest = homework.assign(protocol="honest", seed=[0, 1], optimizer="adam")
    assert figure_context(honest).startswith("adam, 20 epochs, mean of 2 seeds; validation = "
                                             "10% of the training wires")
