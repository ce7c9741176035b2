"""The learning-rate schedule probe: one unit end to end on simulated windows, and its report."""

import functools
import json

import numpy as np
import pytest


def test_one_unit_fits_five_generators_and_the_schedule_moves_the_rate_only_inside(
    load_benchmark, simulator_inner_split, monkeypatch, tmp_path
):
    bench = load_benchmark("probe_lr_schedule")
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    tiny = dict(base_channels=8, channel_mults=(1,), n_sampling_steps=4)
    monkeypatch.setattr(
        bench, "DiffusionGenerator", functools.partial(bench.DiffusionGenerator, **tiny)
    )
    monkeypatch.setattr(
        bench,
        "SpatioTemporalClassifier",
        functools.partial(bench.SpatioTemporalClassifier, max_epochs=2),
    )
    seen_rates = []
    original = bench.nets_module.make_diffusion_net

    def spy(gen, denoiser, **kwargs):  # the learning rate of every step each net trains at
        net = original(gen, denoiser, **kwargs)
        on_batch_end = net.notify

        def notify(name, **kw):
            if name == "on_batch_end":
                seen_rates[-1].append(net.optimizer_.param_groups[0]["lr"])
            return on_batch_end(name, **kw)

        net.notify = notify
        seen_rates.append([])
        return net

    monkeypatch.setattr(bench.nets_module, "make_diffusion_net", spy)
    units = bench.main(
        ["--units", "sim:A", "--seeds", "0", "--n-steps", "8", "--out", str(tmp_path)]
    )
    unit = units[0]
    assert bench.nets_module.make_diffusion_net is spy  # the schedule's patch was undone
    assert [unit[name]["n_steps"] for name in bench.VARIANTS] == [8, 4, 4, 8, 4]
    library, half, half_cosine, cosine, double = seen_rates
    lr = bench.DiffusionGenerator().lr
    assert set(library) == {lr} and set(half) == {lr} and set(double) == {2 * lr}  # constant
    # cosine: warm-up to lr, then decay towards 0 (the rate of each step, before stepping)
    assert cosine[0] < lr and max(cosine) == pytest.approx(lr) and cosine[-1] < 0.1 * lr
    assert len(half_cosine) >= 4 and half_cosine[-1] < 0.2 * lr
    for name in bench.VARIANTS:
        record = unit[name]
        assert record["train_worst_fid"] >= 0 and 0 <= record["train_classes_within_10pct"] <= 1
        assert np.isfinite(record["final_loss"])
    report = (tmp_path / "probe_lr_schedule.md").read_text()
    assert "| sim A | 0 | half_cosine | 4 |" in report and "the rule" in report
    logged = [json.loads(line) for line in (tmp_path / "probe_lr_schedule.jsonl").open()]
    assert logged[0]["seed"] == 0 and "code" in logged[0]
    # a rerun skips the unit already logged
    assert len(bench.main(["--units", "sim:A", "--seeds", "0", "--out", str(tmp_path)])) == 1


def test_cosine_factor_warms_up_then_decays_to_zero(load_benchmark):
    bench = load_benchmark("probe_lr_schedule")
    factors = [bench.cosine_factor(s, 200) for s in range(200)]
    assert factors[0] == pytest.approx(0.1) and max(factors) == 1.0
    assert factors[-1] == pytest.approx(0.0, abs=1e-12)
    after_warmup = factors[10:]
    assert all(a >= b for a, b in zip(after_warmup, after_warmup[1:], strict=False))
