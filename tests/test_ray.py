"""The Ray backend of the sweeps: same metrics as the local backend, skips, failures."""

import json

import pytest

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance on this machine (loopback), stopped after the module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_a_two_configuration_sweep_through_ray_equals_the_local_backend(tmp_path, data_dir,
                                                                        local_ray, capsys):
    from reuters_losses import sweep

    def run(backend):
        sweep.main(["--data-dir", str(data_dir), "--epochs", "1", "--seeds", "0", "1",
                    "--pairs", "softmax:categorical_crossentropy", "--backend", backend,
                    "--out", str(tmp_path / backend)])
        return [json.loads((tmp_path / backend / f"softmax-categorical_crossentropy-seed{s}" /
                            "metrics.json").read_text()) for s in (0, 1)]

    through_ray = run("ray")
    assert "ray: 2 done, 0 running, 0 pending" in capsys.readouterr().err
    for a, b in zip(through_ray, run("local")):
        assert a == pytest.approx(b, abs=1e-6)
    run("ray")
    assert "skipping 2 complete run(s) of 2" in capsys.readouterr().err


@pytest.mark.slow
def test_a_failing_configuration_is_reported_and_the_other_finishes(tmp_path, data_dir, local_ray,
                                                                    capsys):
    from dataclasses import replace

    from common.sweep import run_configs
    from reuters_losses.train import parse_config
    from reuters_losses.training import train

    good, _ = parse_config(["--data-dir", str(data_dir), "--epochs", "1", "--quiet",
                            "--out", str(tmp_path / "good")])
    bad = replace(good, data_dir=str(tmp_path / "no-data"), out=str(tmp_path / "bad"))
    failures = run_configs(train, [bad, good], backend="ray")
    assert list(failures) == [bad.out] and "reuters.npz" in failures[bad.out]
    assert (tmp_path / "good" / "metrics.json").exists()
    assert "1 of 2 configuration(s) failed" in capsys.readouterr().err
