import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from common.data import sha256_of
from common.errors import UserError
from phone_price.data import FEATURES, LABEL, features_and_labels, read_phone_csv, split_indices
from phone_price.evaluate import predict_file
from phone_price.normalization import fit_normalization
from phone_price.train import parse_config
from phone_price.training import train


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def good_frame():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 5, size=(8, 20)), columns=FEATURES)
    frame[LABEL] = [0, 1, 2, 3] * 2
    return frame


def test_reads_a_valid_file(tmp_path, good_frame):
    frame = read_phone_csv(write_csv(tmp_path / "ok.csv", good_frame))
    assert list(frame.columns) == FEATURES + [LABEL]
    assert frame[LABEL].tolist() == [0, 1, 2, 3] * 2


def test_missing_column_is_named(tmp_path, good_frame):
    path = write_csv(tmp_path / "bad.csv", good_frame.drop(columns=["ram"]))
    with pytest.raises(UserError, match="missing column.*ram"):
        read_phone_csv(path)


def test_unexpected_column_is_named(tmp_path, good_frame):
    path = write_csv(tmp_path / "bad.csv", good_frame.assign(colour=1))
    with pytest.raises(UserError, match="unexpected column.*colour"):
        read_phone_csv(path)


def test_non_numeric_value_names_line_and_column(tmp_path, good_frame):
    frame = good_frame.astype(object)
    frame.loc[2, "battery_power"] = "big"
    with pytest.raises(UserError, match=r"line 4, column battery_power.*not a number \('big'\)"):
        read_phone_csv(write_csv(tmp_path / "bad.csv", frame))


def test_empty_value_names_line_and_column(tmp_path, good_frame):
    frame = good_frame.astype(object)
    frame.loc[0, "wifi"] = ""
    with pytest.raises(UserError, match="line 2, column wifi: value is empty"):
        read_phone_csv(write_csv(tmp_path / "bad.csv", frame))


def test_label_outside_range(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[5, LABEL] = 4
    with pytest.raises(UserError, match="line 7, column price_range.*0, 1, 2 or 3"):
        read_phone_csv(write_csv(tmp_path / "bad.csv", frame))


def test_empty_file_and_header_only(tmp_path, good_frame):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UserError, match="is empty"):
        read_phone_csv(tmp_path / "empty.csv")
    with pytest.raises(UserError, match="no data rows"):
        read_phone_csv(write_csv(tmp_path / "header.csv", good_frame.iloc[:0]))


def test_real_file_and_stratified_split(data_dir):
    x, y = features_and_labels(read_phone_csv(data_dir / "phone_price" / "train.csv"))
    assert x.shape == (2000, 20) and np.bincount(y).tolist() == [500] * 4
    rows = split_indices(y, seed=0)
    assert [len(rows[k]) for k in ("train", "val", "test")] == [1280, 320, 400]
    assert np.bincount(y[rows["test"]]).tolist() == [100] * 4
    all_rows = np.concatenate(list(rows.values()))
    assert len(np.unique(all_rows)) == 2000


def config(tmp_path, data_dir, **overrides):
    argv = ["--data-dir", str(data_dir), "--epochs", "5", "--quiet", "--out", str(tmp_path / "run")]
    return replace(parse_config(argv), **overrides)


@pytest.mark.slow
def test_short_run_learns_and_writes_every_output(tmp_path, data_dir):
    cfg = config(tmp_path, data_dir)
    metrics = train(cfg)
    run_dir = tmp_path / "run"
    for name in ["config.json", "history.csv", "metrics.json", "model.keras", "curves.png",
                 "normalization.json", "split.json"]:
        assert (run_dir / name).exists(), name
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == 5 and history["loss"].iloc[-1] < history["loss"].iloc[0]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert {"val_accuracy", "test_accuracy", "test_macro_f1"} <= set(saved)
    assert saved == pytest.approx(metrics)
    assert json.loads((run_dir / "config.json").read_text())["versions"]["tensorflow"]

    predictions = predict_file(run_dir, data_dir / "phone_price" / "test.csv", tmp_path / "p.csv")
    written = pd.read_csv(tmp_path / "p.csv")
    assert len(written) == 1000 and written["id"].tolist() == list(range(1, 1001))
    assert written["price_range"].between(0, 3).all()
    assert predictions.equals(written)


@pytest.mark.slow
def test_same_seed_same_metrics(tmp_path, data_dir):
    first = train(config(tmp_path, data_dir, epochs=3, out=str(tmp_path / "a")))
    second = train(config(tmp_path, data_dir, epochs=3, out=str(tmp_path / "b")))
    assert first == second


@pytest.mark.slow
def test_regression_head_learns(tmp_path, data_dir):
    metrics = train(config(tmp_path, data_dir, head="regression", optimizer="adam", lr=3e-3,
                               epochs=15))
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    # one rounded linear neuron that learned the order: far above chance (0.25), and its mean
    # error below one class
    assert metrics["test_accuracy"] > 0.6 and metrics["test_mae"] < 0.5


@pytest.mark.slow
def test_cross_validation_reports_mean_and_std(tmp_path, data_dir):
    metrics = train(config(tmp_path, data_dir, epochs=2, cv=3))
    assert {"val_accuracy_mean", "val_accuracy_std", "test_accuracy_mean"} <= set(metrics)
    folds = [json.loads((tmp_path / "run" / f"fold{k}" / "metrics.json").read_text())
             for k in range(3)]
    assert metrics["test_accuracy_mean"] == pytest.approx(
        np.mean([f["test_accuracy"] for f in folds])
    )
    splits = [json.loads((tmp_path / "run" / f"fold{k}" / "split.json").read_text())
              for k in range(3)]
    val_rows = np.concatenate([s["val"] for s in splits])
    assert len(val_rows) == len(np.unique(val_rows)) == 1600  # disjoint folds cover non-test rows
    assert not set(val_rows) & set(splits[0]["test"])


def test_bad_flags_fail_clearly(capsys):
    with pytest.raises(SystemExit):
        parse_config(["--epochs", "0"])
    assert "must be in [1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config(["--cv", "1"])
    assert "argument --cv: cv must be 0 (off) or at least 2, got 1" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_fits_its_normalization_on_its_own_training_rows(tmp_path, data_dir):
    train(config(tmp_path, data_dir, epochs=2, normalization="per-feature"))
    saved = json.loads((tmp_path / "run" / "normalization.json").read_text())
    rows = json.loads((tmp_path / "run" / "split.json").read_text())
    x, _ = features_and_labels(read_phone_csv(data_dir / "phone_price" / "train.csv"))
    own = x[rows["train"]].astype(np.float64)
    np.testing.assert_allclose(saved["mean"], own.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(saved["std"], own.std(axis=0), rtol=1e-6)
    whole = fit_normalization(x, "per-feature")
    assert not np.allclose(saved["mean"], whole["mean"], rtol=1e-3)


def test_rounded_accuracy_rounds_and_clips():
    from phone_price.model import RoundedAccuracy

    metric = RoundedAccuracy()
    metric.update_state(np.array([[0.0], [1.0], [3.0], [2.0]]),
                        np.array([[0.4], [1.6], [7.0], [1.49]], np.float32))
    assert float(metric.result()) == pytest.approx(0.5)  # 0.4→0 ✓, 1.6→2 ✗, 7→3 ✓, 1.49→1 ✗


def test_ordinal_targets_and_decoding_by_hand():
    from phone_price.model import decode, targets

    np.testing.assert_array_equal(targets(np.array([0, 1, 2, 3]), "ordinal"),
                                  [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
    outputs = np.array([[0.1, 0.0, 0.0], [0.9, 0.6, 0.2], [0.99, 0.9, 0.8], [np.nan, 0, 0]])
    np.testing.assert_array_equal(decode(outputs), [0, 2, 3, -1])
    np.testing.assert_array_equal(decode(np.array([[0.2, 0.5, 0.1, 0.2]])), [1])  # softmax
    np.testing.assert_array_equal(decode(np.array([[2.6], [-4.0]])), [3, 0])  # regression


def test_ordinal_head_is_rank_consistent_and_its_loss_is_bce_on_cumulative_targets():
    from phone_price.model import build_model, targets

    model = build_model(3, head="ordinal", hidden=[], optimizer="adam")
    score = model.get_layer("score")
    score.set_weights([np.array([[1.0], [-2.0], [0.5]], np.float32)])
    model.get_layer("thresholds").set_weights([np.array([1.0, 0.0, -1.0], np.float32)])
    x = np.array([[1.0, 0.0, 2.0]], np.float32)  # score = 1 + 1 = 2
    p = model.predict(x, verbose=0)[0]
    expected = 1 / (1 + np.exp(-(2.0 + np.array([1.0, 0.0, -1.0]))))
    np.testing.assert_allclose(p, expected, rtol=1e-5)
    assert p[0] >= p[1] >= p[2]  # one score, ordered biases: P(y>0) ≥ P(y>1) ≥ P(y>2)
    t = targets(np.array([2]), "ordinal")[0]  # [1, 1, 0]
    bce = -np.mean(t * np.log(expected) + (1 - t) * np.log(1 - expected))
    assert model.evaluate(x, t[None], verbose=0)[0] == pytest.approx(bce, rel=1e-4)


def test_order_aware_metrics_on_a_hand_made_confusion():
    from phone_price.metrics import scores

    y_true = np.array([0, 0, 1, 2, 3, 3])
    y_pred = np.array([0, 2, 1, 3, 0, 3])  # errors of 2, 1 and 3 classes
    result = scores(y_true, y_pred, prefix="test_")
    assert result["test_accuracy"] == pytest.approx(3 / 6)
    assert result["test_mae"] == pytest.approx((2 + 1 + 3) / 6)
    assert result["test_far_error_rate"] == pytest.approx(2 / 6)


def test_a_bad_user_csv_gives_the_validation_error(tmp_path, data_dir, capsys):
    from common.cli import run_cli
    from phone_price.train import main

    frame = pd.read_csv(data_dir / "phone_price" / "train.csv").drop(columns=["ram"])
    path = write_csv(tmp_path / "mine.csv", frame)
    with pytest.raises(SystemExit) as exit_:
        run_cli(main, ["--csv", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "missing column(s) ram" in err and "sha256" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_good_user_csv_trains(tmp_path, data_dir):
    frame = pd.read_csv(data_dir / "phone_price" / "train.csv").sample(frac=1, random_state=1)
    path = write_csv(tmp_path / "shuffled.csv", frame)
    metrics = train(config(tmp_path, data_dir, csv=str(path), optimizer="adam", lr=3e-3,
                               epochs=15))
    assert metrics["val_accuracy"] > 0.7  # chance is 0.25: it learned from the user's rows
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["csv"] == str(path) and recorded["csv_sha256"] == sha256_of(path)


def test_a_diverged_runs_curves_say_so_instead_of_a_blank_panel(tmp_path, monkeypatch):
    import matplotlib.axes
    import pandas as pd

    from common.plotting import plot_training_curves

    texts = []
    original = matplotlib.axes.Axes.text
    monkeypatch.setattr(matplotlib.axes.Axes, "text",
                        lambda self, x, y, s, **kw: texts.append(s) or original(self, x, y, s,
                                                                                 **kw))
    history = pd.DataFrame({"loss": [float("nan")], "val_loss": [float("inf")],
                            "accuracy": [0.26], "val_accuracy": [0.0]})
    plot_training_curves(history, ["loss", "accuracy"], tmp_path / "curves.png", best_epoch=1)
    assert texts == ["train: not a finite number in 1 of 1 epochs\nvalidation: not a finite "
                     "number in 1 of 1 epochs\n(the run diverged: NaN or inf)"]
    assert (tmp_path / "curves.png").stat().st_size > 5_000


def test_phone_evaluate_output_that_is_a_folder_is_one_line(tmp_path):
    from phone_price import evaluate

    lines = [",".join(["id"] + FEATURES), ",".join(["1"] + ["1"] * len(FEATURES))]
    (tmp_path / "u.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="is a folder"):
        evaluate.predict_file(tmp_path, tmp_path / "u.csv", tmp_path)


def test_phone_predict_from_a_missing_csv_is_one_line_naming_the_flag(tmp_path):
    from phone_price import evaluate

    with pytest.raises(UserError, match="nope.csv not found") as caught:
        evaluate.predict_file(tmp_path, tmp_path / "nope.csv", tmp_path / "p.csv")
    assert caught.value.param == "predict"
    assert not (tmp_path / "p.csv").exists()
