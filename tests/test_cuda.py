"""CUDA paths: every torch-backed estimator fits and predicts with ``device="cuda"``, and a
model trained on CUDA reloads on a CPU-only machine. The tests marked ``cuda`` are skipped
without a CUDA device; ``benchmarks/device_check.sh`` runs them (``pytest -m cuda``) on a
GPU machine. The others run anywhere: the device check itself on the CPU, and pickles
whose tensors claim to live on CUDA, unpickled here.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from semgaug_sk import (
    ConvTransformerClassifier,
    FeatureImitator,
    FINClassifier,
    SASGAugmenter,
    SemanticEncoder,
    SpatioTemporalClassifier,
)
from semgaug_sk.augmentation import SASS
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.windows import sliding_windows

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "cuda"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    return w.X, np.array(["fist", "open", "pinch"])[w.y - 1]


def _estimators():
    enc = dict(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=2)
    return {
        "encoder": SemanticEncoder(**enc, random_state=0),
        "stc": SpatioTemporalClassifier(min_steps=None, n_temporal=4, max_epochs=2, random_state=0),
        "tdct": ConvTransformerClassifier(d_model=8, n_heads=2, max_epochs=2, random_state=0),
        "imitator": FeatureImitator(("rms", "ent"), hidden_size=4, max_epochs=2, random_state=0),
        "fin": FINClassifier(
            FeatureImitator(("rms",), hidden_size=4, max_epochs=1),
            head_channels=(4, 4, 4),
            max_epochs=2,
            fine_tune_epochs=1,
            random_state=0,
        ),
        "sasg": SASGAugmenter(
            SemanticEncoder(**enc),
            sampling=SASS(n_steps=2),
            n_steps=4,
            base_channels=4,
            channel_mults=(1,),
            n_sampling_steps=2,
            confidence_threshold=0.0,
            ratio=0.5,
            random_state=0,
        ),
    }


def _output(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    if hasattr(est, "transform"):
        return est.transform(X)
    return est.generate(2)[0]


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("name", sorted(_estimators()))
def test_fits_on_cuda_and_reloads_on_cpu(name, data, tmp_path):
    X, y = data
    est = _estimators()[name].set_params(device=DEVICE)
    if name == "sasg":
        est.fit_resample(X, y)
    else:
        est.fit(X, y)
    out = _output(est, X)
    assert np.isfinite(out).all()
    save_weights(est, tmp_path / "model.pt")
    on_cpu = load_weights(tmp_path / "model.pt", device="cpu")
    assert on_cpu.device == "cpu"
    if name != "sasg":  # generation draws fresh noise; the others are deterministic
        np.testing.assert_allclose(_output(on_cpu, X), out, rtol=1e-3, atol=1e-4)
    # a pickle made on CUDA unpickles in a process that sees no GPU
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(est))
    script = textwrap.dedent(
        f"""
        import pickle, warnings
        warnings.simplefilter("ignore")
        est = pickle.loads(open({str(path)!r}, "rb").read())
        assert est.device == "cpu", est.device
        print("ok")
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.slow
def test_device_check_runs_on_a_cpu_only_machine(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "SCALE": "0.01", "OUT": str(tmp_path)}
    env["BENCH_TIMEOUT"] = "1200"  # the CI machine runs other tests beside this one
    if torch.cuda.is_available():
        pytest.skip("this test checks the CPU-only path")
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "device_check.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "No CUDA device on this machine" in proc.stdout
    report = (tmp_path / "bench_devices_cpu.md").read_text()
    for part in ("encoder", "diffusion_fit", "diffusion_generate", "imitator", "downstream"):
        assert f"| {part} |" in report
    assert "CPU figures only" in report
    latency = (tmp_path / "bench_latency_cpu.md").read_text()
    assert all(f"| {model} | cpu | 8x52 |" in latency for model in ("stc", "tdct", "fin"))


def _claim_cuda(obj, seen=None):
    """Set ``device="cuda"`` on an estimator and every estimator and skorch net inside it."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (torch.nn.Module, torch.Tensor, type, np.ndarray)):
        return
    seen.add(id(obj))
    if isinstance(getattr(obj, "device", None), str):
        obj.device = "cuda"
    for value in list(getattr(obj, "__dict__", {}).values()):
        if hasattr(value, "__dict__"):
            _claim_cuda(value, seen)


@pytest.mark.parametrize("name", sorted(_estimators()))
def test_a_pickle_of_cuda_tensors_loads_where_cuda_is_absent(name, data, monkeypatch):
    """Runs without a GPU: every storage is pickled as if it lived on cuda:0.

    skorch kept the module instance the library passes it as a plain attribute (the
    same object as ``module_``), pickled outside its device mapping: a model trained on
    CUDA could not be unpickled on a CPU-only machine. The skorch nets now map it (and
    the diffusion net's EMA copy) like ``module_``, and store the shared instance once.
    """
    X, y = data
    est = _estimators()[name]
    est.fit_resample(X, y) if name == "sasg" else est.fit(X, y)
    expected = None if name == "sasg" else _output(est, X)
    _claim_cuda(est)
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        blob = pickle.dumps(est)
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here: the CPU fallback is not exercised")
    with pytest.warns(UserWarning, match="CUDA"):
        back = pickle.loads(blob)
    assert back.device == "cpu"
    if expected is not None:
        np.testing.assert_allclose(_output(back, X), expected, rtol=1e-5, atol=1e-6)
    else:
        assert np.isfinite(back.generate(2)[0]).all()
