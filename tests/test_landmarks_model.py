import json

import keras
import numpy as np
import pandas as pd
import pytest

from common.errors import ParameterError, UserError
from landmarks import evaluate
from landmarks.config import CPU_DIR
from landmarks.model import RESNET50_NOTOP, build_model
from landmarks.train import parse_config
from landmarks.training import train
from tests.conftest import copy_afw_faces


@pytest.mark.parametrize("backbone", ["small_cnn", "mobilenetv2", "resnet50"])
@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_output_shape_and_range(backbone, activation):
    model = build_model(5, 32, backbone=backbone, head=activation)
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    out = model.predict(images, verbose=0)
    assert out.shape == (3, 10)
    if activation == "sigmoid":
        assert (out > 0).all() and (out < 1).all()
    else:
        assert model.get_layer("landmarks").activation.__name__ == "linear"


def test_weights_from_a_local_file(tmp_path):
    source = build_model(68, 32, backbone="resnet50")
    backbone = source.get_layer("resnet50")
    backbone.save_weights(tmp_path / "backbone.weights.h5")
    source.save(tmp_path / "whole.keras")

    weights = str(tmp_path / "backbone.weights.h5")
    from_h5 = build_model(68, 32, backbone="resnet50", weights=weights)
    for a, b in zip(backbone.weights, from_h5.get_layer("resnet50").weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    from_keras = build_model(68, 32, backbone="resnet50", weights=str(tmp_path / "whole.keras"))
    for a, b in zip(source.weights, from_keras.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(UserError, match="not found"):
        build_model(68, 32, backbone="resnet50", weights=str(tmp_path / "missing.h5"))


def test_imagenet_offline_is_one_line_naming_the_file(monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no net")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(UserError) as err:
        build_model(68, 64, backbone="resnet50", weights="imagenet")
    assert "\n" not in str(err.value) and RESNET50_NOTOP in str(err.value)
    assert "~/.keras/models/" in str(err.value)


def test_the_gpu_preset_offline_is_refused_before_any_caching(tmp_path, synthetic_ibug,
                                                              monkeypatch):
    import landmarks.pipeline
    import landmarks.scoring  # noqa: F401  (imports cache_crops by name: before the patch)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no net")

    def not_now(*args, **kwargs):
        raise AssertionError("cached the faces before checking the weights")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr(landmarks.pipeline, "cache_crops", not_now)
    out = tmp_path / "run"
    with pytest.raises(UserError, match=RESNET50_NOTOP) as err:
        train(parse_config(["--preset", "gpu", "--data-dir", str(synthetic_ibug), "--subsets",
                            "afw", "--image-size", "32", "--out", str(out), "--quiet"]))
    assert err.value.param == "weights" and not out.exists()


@pytest.mark.slow
def test_tiny_run_writes_everything_and_the_model_evaluates(tmp_path, synthetic_ibug):
    out = tmp_path / "run"
    argv = ["--backbone", "small_cnn",
            "--data-dir", str(synthetic_ibug), "--subsets", "afw", "--image-size", "64",
            "--epochs", "1", "--batch-size", "8", "--out", str(out), "--quiet"]
    metrics = train(parse_config(argv))
    for name in ["config.json", "history.csv", "metrics.json", "model.keras", "curves.png",
                 "ced_val.png", "per_landmark_val.png", "predictions_val.png", "split.json",
                 "mean_shape.json", "data_report.json"]:
        assert (out / name).exists(), name
    assert any((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert not (out / "backup").exists()
    saved = json.loads((out / "metrics.json").read_text())
    assert {"val_nme", "val_failure_rate_8", "val_failure_rate_10", "val_auc_8", "val_auc_10",
            "val_mean_shape_nme"} <= set(saved)
    assert saved == pytest.approx(metrics)
    assert len(pd.read_csv(out / "history.csv")) == 1

    evaluate.main([str(out), "--data-dir", str(synthetic_ibug), "--quiet"])
    again = json.loads((out / "evaluate" / "evaluation_val.json").read_text())
    assert again["val_nme"] == saved["val_nme"]  # the same batches: the same figure, bit for bit


@pytest.mark.slow
def test_a_saved_run_scores_a_data_root_that_holds_only_the_scored_folder(tmp_path, data_dir):
    copy_afw_faces(tmp_path / "train_root", data_dir, 24)
    only = tmp_path / "only"
    copy_afw_faces(only, data_dir, 6, subset="helen_test")  # the training data is not here
    out = tmp_path / "run"
    argv = ["--backbone", "small_cnn",
            "--data-dir", str(tmp_path / "train_root"), "--subsets", "afw", "--image-size", "40",
            "--epochs", "1", "--batch-size", "8", "--out", str(out), "--quiet"]
    train(parse_config(argv))
    evaluate.main([str(out), "--data-dir", str(only), "--subsets", "helen_test", "--quiet",
                   "--out", str(tmp_path / "scores")])
    scores = json.loads((tmp_path / "scores" / "evaluation_ibug68_helen_test.json").read_text())
    assert scores["ibug68_helen_test_faces"] == 6 and scores["ibug68_helen_test_nme"] > 0


@pytest.mark.slow
def test_short_run_on_muct_learns(tmp_path, data_dir):
    argv = ["--backbone", "small_cnn",
            "--data-dir", str(data_dir), "--dataset", "muct", "--image-size", "48", "--epochs",
            "4", "--lr", "3e-3", "--batch-size", "16", "--out", str(tmp_path / "m"), "--quiet"]
    train(parse_config(argv))
    history = pd.read_csv(tmp_path / "m" / "history.csv")
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert not (tmp_path / "m" / "predictions_val.png").exists()  # MUCT faces stay unpublished


@pytest.mark.slow
def test_the_landmark_sweep_runs_resumes_and_summarizes(tmp_path, synthetic_ibug, capsys):
    from landmarks import sweep

    argv = ["--data-dir", str(synthetic_ibug), "--subsets", "afw", "--heads", "sigmoid",
            "soft-argmax", "--losses", "masked_euclidean", "--seeds", "0",
            "--other-seeds", "0", "--image-size", "32", "--epochs", "1", "--batch-size", "8",
            "--out", str(tmp_path)]
    sweep.main(argv)
    table = pd.read_csv(tmp_path / "summary.csv")
    heads = table[table["group"] == "heads"]
    assert sorted(heads["head"]) == ["sigmoid", "soft-argmax"]
    losses = table[table["group"] == "losses"]
    assert set(losses["head"]) == {sweep.best_dense_head(pd.DataFrame(
        [{"head": h, "val_nme": v} for h, v in zip(heads["head"], heads["val_nme"])])),
        "soft-argmax"}
    five = table[table["group"] == "five"]
    assert set(five["points"]) == {5} and len(five) == 2  # sigmoid and soft-argmax
    assert len(losses) == 2  # the heads group's runs: shared, not trained twice
    assert (tmp_path / "nme.png").exists() and (tmp_path / "ced.png").exists()
    text = (tmp_path / "summary.md").read_text()
    assert f"`python landmarks/sweep.py {' '.join(argv[2:])}`" in text  # less --data-dir
    assert "## heads" in text and "## five" in text
    capsys.readouterr()
    sweep.main(argv)
    assert "skipping 2 complete run(s) of 2" in capsys.readouterr().err


def test_the_comparison_needs_a_dense_head_to_compare_losses_on(capsys):
    from landmarks import sweep

    with pytest.raises(SystemExit):
        sweep.parse_args(["--heads", "soft-argmax", "--groups", "losses"])
    assert "argument --heads: the losses group compares losses on the best Dense head" in \
        capsys.readouterr().err


def test_points_must_be_the_markup_or_five(capsys):
    with pytest.raises(SystemExit):
        parse_config(["--points", "76"])  # ibug68 has 68
    assert "argument --points: ibug68 has 68 points; use 68 or 5" in capsys.readouterr().err
    assert parse_config(["--points", "5"]).points == 5


@pytest.mark.slow
def test_five_points_soft_argmax_and_flip_test_train_and_evaluate(tmp_path, synthetic_ibug):
    out = tmp_path / "run"
    argv = ["--backbone", "small_cnn",
            "--data-dir", str(synthetic_ibug), "--subsets", "afw", "--image-size", "40",
            "--epochs", "2", "--batch-size", "8", "--points", "5", "--head", "soft-argmax",
            "--schedule", "cosine", "--flip-test", "--detector", "none", "--out", str(out),
            "--quiet"]
    metrics = train(parse_config(argv))
    model = keras.models.load_model(out / "model.keras")
    assert model.output_shape == (None, 10)
    assert len(json.loads((out / "nme_val.json").read_text())["nme"]) == metrics["val_faces"]
    evaluate.main([str(out), "--data-dir", str(synthetic_ibug), "--quiet"])
    again = json.loads((out / "evaluate" / "evaluation_val.json").read_text())
    assert again["val_nme"] == pytest.approx(metrics["val_nme"], rel=1e-4)  # flipped there too
    from landmarks.datasets import load_split
    from landmarks.pipeline import cache_crops

    config = json.loads((out / "config.json").read_text())
    cache = cache_crops(load_split({**config, "data_dir": str(synthetic_ibug)})[1], 40,
                        progress=False)
    from landmarks.inference import Predictor
    from landmarks.scoring import predict_points

    plain = predict_points(Predictor.from_run(out, flip_test=False), cache)
    averaged = predict_points(Predictor.from_run(out), cache)
    assert plain.shape == averaged.shape == (len(cache.images), 5, 2)
    # the flip test by hand: the model on each crop and on its mirror, whose points are mirrored
    # back (x -> 1 - x, left and right swapped) and averaged with the first
    crops = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3)).astype(np.float32)
    alone = Predictor.from_run(out, flip_test=False)
    swap = Predictor.from_run(out).flip_permutation
    assert sorted(swap) == list(range(5)) and list(swap) != list(range(5))
    on_mirrors = alone.unit_points(crops[:, :, ::-1].copy())[:, swap]
    on_mirrors[..., 0] = 1.0 - on_mirrors[..., 0]
    np.testing.assert_allclose(Predictor.from_run(out).unit_points(crops),
                               (alone.unit_points(crops) + on_mirrors) / 2, atol=1e-6)
    assert np.abs(plain - averaged).max() > 1e-4  # and the two differ on real crops


def test_the_ablations_preset_rows_are_the_presets_and_each_row_adds_one_lever():
    from dataclasses import asdict

    from landmarks import ablation

    args = ablation.parse_args([])
    rows = [asdict(ablation.row_config(args, i)) for i in range(len(ablation.ROWS))]
    preset = asdict(parse_config([]))
    chosen = rows[ablation.PRESET_ROW]
    assert chosen["out"] == preset["out"]
    ignored = {"out", "data_dir", "quiet"}
    assert {k: v for k, v in chosen.items() if k not in ignored} == {
        k: v for k, v in preset.items() if k not in ignored}

    def changed(a, b):
        return {k for k in a if a[k] != b[k]} - ignored

    levers = [{"head"}, {"schedule", "lr", "epochs"}, {"heatmap_stride", "rotation"},
              {"subsets"}, {"heatmap_stride"}, {"backbone", "weights"},
              {"first_stage", "weights", "epochs", "lr"}, {"augmentation"},
              {"preset", "first_stage", "weights", "epochs", "lr"},
              {"preset", "image_size", "flip_test"}, {"epochs"}]
    parents = [0, 1, 2, 2, 4, 4, 6, 6, 11, 6, 8]  # row i + 1 adds its lever to row parents[i]
    for row, (parent, lever) in enumerate(zip(parents, levers), start=1):
        assert changed(rows[row], rows[parent]) == lever
    assert rows[0]["head"] == "sigmoid" and rows[1]["head"] == "soft-argmax"
    assert {r["backbone"] for r in rows[:6]} == {"small_cnn"}
    assert rows[6]["out"].endswith(ablation.LIGHT_DIR)
    assert rows[7]["first_stage"] == ablation.LIGHT_DIR  # the second stage of row 6
    assert rows[7]["weights"] == f"{ablation.LIGHT_DIR}/model.keras"
    assert preset["out"].endswith(CPU_DIR)
    assert rows[9]["first_stage"] == CPU_DIR  # the second stage of row 11, the preset
    for row, flags in ((9, ["--preset", "cascade"]), (10, ["--preset", "fast"])):
        named = asdict(parse_config(flags))
        assert {k: v for k, v in rows[row].items() if k not in ignored} == {
            k: v for k, v in named.items() if k not in ignored} and rows[row]["out"] == named["out"]
    assert rows[9]["out"] == preset["out"] + "-second-stage"
    assert chosen["backbone"] == "mobilenetv2" and chosen["weights"] == "imagenet"
    assert rows[ablation.PRESET_ROW]["subsets"] == "afw,helen_train,lfpw_train"


def test_the_imagenet_file_is_hashed_once_per_process_until_it_changes(tmp_path, monkeypatch):
    import landmarks.model as model

    weights = tmp_path / RESNET50_NOTOP
    weights.write_bytes(b"checked")
    calls = []

    def get_file(*args, **kwargs):  # Keras' download-and-md5 step
        calls.append(kwargs.get("file_hash"))
        return str(weights)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setattr(model, "_checked", {})
    assert model.fetch_backbone_weights("resnet50", "imagenet") == str(weights)
    assert model.fetch_backbone_weights("resnet50", "imagenet") == str(weights)
    assert calls == [model.RESNET50_NOTOP_MD5]
    weights.write_bytes(b"replaced since")
    model.fetch_backbone_weights("resnet50", "imagenet")
    assert len(calls) == 2
    assert model.fetch_backbone_weights("mobilenetv2", "imagenet") is None


def test_the_training_augmentation_is_the_light_jitter_or_the_fields_recipe():
    from dataclasses import replace

    from landmarks.cascade import ALIGNED_JITTER
    from landmarks.config import CPU
    from landmarks.pipeline import FIELD_AUGMENTATION
    from landmarks.training import training_augmentation

    plain = replace(CPU, detector="none", augmentation="light")
    assert plain.augmentation is None  # recorded as the runs before "field" were
    light = training_augmentation(plain, second_stage=False, train_set=None, run_dir=None)
    assert light == {"scale_jitter": 0.1, "shift_jitter": 0.08, "rotation": 0.0}
    field = replace(plain, augmentation="field")
    assert training_augmentation(field, second_stage=False, train_set=None,
                                 run_dir=None) == FIELD_AUGMENTATION
    second = training_augmentation(field, second_stage=True, train_set=None, run_dir=None)
    everyone_turned = {k: v for k, v in FIELD_AUGMENTATION.items() if k != "rotation_p"}
    assert second == {**everyone_turned, **ALIGNED_JITTER}  # every aligned crop turned a little
    with pytest.raises(ParameterError, match="no_augment"):
        replace(field, no_augment=True)
    assert replace(plain, no_augment=True).no_augment  # light + no augmentation is no conflict
