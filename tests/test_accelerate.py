"""Training through Hugging Face Accelerate (``accelerator=``), checked on the CPU.

``SemanticEncoder`` and ``SASGAugmenter`` take an ``accelerate.Accelerator`` and
then train through skorch's ``AccelerateMixin``. Here the accelerator runs on the
CPU: in this process (one process, also with bf16 mixed precision and gradient
accumulation) and, in a slow test, as two data-parallel processes started with
``torch.distributed.run`` (DistributedDataParallel over gloo), the code path of
``accelerate launch`` on several GPUs. Multi-GPU runs themselves are not part of
the suite. The module is skipped when accelerate is not installed.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from semgaug_sk.augmentation import SASGAugmenter
from semgaug_sk.augmentation.base import n_synthetic_per_class
from semgaug_sk.augmentation.sasg import DiffusionNet
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.utils.portable_nets import PortableNetClassifier
from semgaug_sk.windows import sliding_windows

accelerate = pytest.importorskip(
    "accelerate", reason="accelerate is not installed: pip install 'semgaug_sk[dist]'"
)
from accelerate.state import AcceleratorState, GradientState  # noqa: E402

ENCODER = dict(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=4, patience=2)
SASG = dict(
    n_steps=10,
    base_channels=8,
    channel_mults=(1, 2),
    n_cond_tokens=2,
    cond_token_dim=16,
    n_sampling_steps=3,
    max_rounds=2,
    confidence_threshold=0.0,
    random_state=0,
)
ROOT = Path(__file__).resolve().parents[1]


def _reset_accelerate():
    """Accelerate's state is process-wide; reset it so another configuration can be built."""
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def accelerator():
    _reset_accelerate()
    yield accelerate.Accelerator(cpu=True)
    _reset_accelerate()


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    names = np.array(["fist", "open", "pinch"])
    return w.X, names[w.y - 1]


@pytest.fixture(scope="module")
def encoder(data, accelerator):
    return SemanticEncoder(**ENCODER, accelerator=accelerator, random_state=0).fit(*data)


@pytest.fixture(scope="module")
def sasg(data, accelerator):
    return SASGAugmenter(SemanticEncoder(**ENCODER), accelerator=accelerator, **SASG).fit(*data)


def test_encoder_trains_and_predicts(data, encoder, accelerator):
    X, y = data
    assert encoder.accelerator is accelerator  # stored unchanged
    proba = encoder.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    emb = encoder.transform(X)
    assert emb.shape == (len(X), 8) and np.isfinite(emb).all()
    assert set(encoder.predict(X)) <= set(y)
    # the fitted net is the library's skorch net on the accelerator's device
    assert type(encoder.net_) is PortableNetClassifier and encoder.net_.device == "cpu"
    assert 1 <= encoder.n_epochs_ <= ENCODER["max_epochs"]
    assert encoder.net_.history[-1, "valid_loss"] > 0


def test_encoder_is_deterministic(data, encoder, accelerator):
    X, y = data
    again = SemanticEncoder(**ENCODER, accelerator=accelerator, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.transform(X), encoder.transform(X))
    copy = clone(encoder)
    assert copy.accelerator is accelerator  # Accelerate's deepcopy returns the same object


def test_sasg_trains_and_generates(data, sasg, accelerator):
    X, y = data
    assert sasg.accelerator is accelerator
    # a user-given encoder keeps its own accelerator setting (none here)
    assert sasg.encoder_.accelerator is None
    assert type(sasg.diffusion_) is DiffusionNet and sasg.diffusion_.device == "cpu"
    X_syn, y_syn = pickle.loads(pickle.dumps(sasg)).generate(3)
    assert X_syn.shape == (9, *X.shape[1:]) and np.isfinite(X_syn).all()
    assert sorted(set(y_syn)) == ["fist", "open", "pinch"]
    X_res, y_res = SASGAugmenter(
        accelerator=accelerator, encoder=SemanticEncoder(**ENCODER), **SASG
    ).fit_resample(X, y)
    n_syn = sum(n_synthetic_per_class(y, SASGAugmenter().ratio).values())  # the default
    assert X_res.shape == (len(X) + n_syn, *X.shape[1:]) and np.isfinite(X_res).all()
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_default_encoder_gets_the_accelerator(data, accelerator):
    X, y = data
    aug = SASGAugmenter(accelerator=accelerator, **dict(SASG, n_steps=2))
    aug.fit(X[::2], y[::2])
    assert aug.encoder_.accelerator is accelerator


def test_pickle_joblib_and_weights_after_accelerated_fit(tmp_path, data, encoder, sasg):
    X, _ = data
    for est, out in ((encoder, lambda e: e.transform(X)), (sasg, lambda e: e.generate(2)[0])):
        state = pickle.dumps(est)
        reference = out(pickle.loads(state))
        np.testing.assert_array_equal(out(pickle.loads(state)), reference)
        joblib.dump(pickle.loads(state), tmp_path / "model.joblib")
        np.testing.assert_array_equal(out(joblib.load(tmp_path / "model.joblib")), reference)
        # weights-only files store the model, not the accelerator (a handle on the processes)
        save_weights(pickle.loads(state), tmp_path / "model.pt")
        loaded = load_weights(tmp_path / "model.pt")
        assert loaded.accelerator is None
        np.testing.assert_array_equal(out(loaded), reference)


def test_mixed_precision_and_gradient_accumulation(data):
    """bf16 autocast and gradient accumulation (a fresh accelerator configuration)."""
    X, y = data
    _reset_accelerate()
    try:
        bf16 = accelerate.Accelerator(
            cpu=True, mixed_precision="bf16", gradient_accumulation_steps=2
        )
        aug = SASGAugmenter(SemanticEncoder(**ENCODER), accelerator=bf16, **SASG).fit(X, y)
        enc = SemanticEncoder(**ENCODER, accelerator=bf16, random_state=0).fit(X, y)
    finally:
        # back to the module's configuration: the shared state of `accelerator` is rebuilt
        _reset_accelerate()
        accelerate.Accelerator(cpu=True)
    X_syn, _ = aug.generate(2)
    assert X_syn.shape == (6, *X.shape[1:]) and X_syn.dtype == X.dtype and np.isfinite(X_syn).all()
    proba = enc.predict_proba(X)
    assert proba.dtype == np.float32 and np.isfinite(proba).all()
    # the module is unwrapped for inference (no autocast wrapper is left) and pickles
    assert not hasattr(enc.net_.module_.forward, "__wrapped__")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).predict_proba(X), proba)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(aug)).generate(2)[0],
        pickle.loads(pickle.dumps(aug)).generate(2)[0],
    )


def test_gradient_accumulation_clips_and_averages_once_per_optimizer_step(data, monkeypatch):
    """Clipping each micro-batch's partial gradients changed the update, and under fp16
    (its gradient scaler, set up here as Accelerate sets it up on a GPU) failed with
    'unscale_() has already been called'; the EMA moved on every micro-batch."""
    from torch.optim.swa_utils import AveragedModel

    X, y = data
    ema_updates, clips = [], []
    update = AveragedModel.update_parameters
    monkeypatch.setattr(
        AveragedModel,
        "update_parameters",
        lambda self, model: (ema_updates.append(1), update(self, model))[1],
    )
    _reset_accelerate()
    try:
        fp16 = accelerate.Accelerator(
            cpu=True, mixed_precision="fp16", gradient_accumulation_steps=2
        )
        fp16.native_amp, fp16.scaler = True, torch.amp.GradScaler("cpu")
        clip = fp16.clip_grad_norm_
        monkeypatch.setattr(
            fp16, "clip_grad_norm_", lambda *a, **k: (clips.append(1), clip(*a, **k))[1]
        )
        aug = SASGAugmenter(
            SemanticEncoder(**ENCODER),
            accelerator=fp16,
            **{**SASG, "n_steps": 40, "batch_size": 16},
        ).fit(X, y)
    finally:
        _reset_accelerate()
        accelerate.Accelerator(cpu=True)
    gen = aug.generator_
    per_epoch = gen.n_train_steps_ // gen.n_epochs_
    # one optimizer step per two micro-batches, and one at each epoch's odd end
    assert per_epoch % 2 == 1 and len(clips) == gen.n_epochs_ * (per_epoch + 1) // 2
    assert len(ema_updates) == len(clips)
    # the default decay counts optimizer steps, not micro-batches
    assert len(clips) > 20 and gen.ema_decay_ == pytest.approx(1 - 10 / len(clips))
    assert np.isfinite(aug.generate(2)[0]).all()


def test_fp16_on_a_cpu_warns_that_it_trains_in_float32(data):
    X, y = data
    _reset_accelerate()
    try:
        fp16 = accelerate.Accelerator(cpu=True, mixed_precision="fp16")
        with pytest.warns(UserWarning, match=r"mixed_precision='fp16'.*float32.*'bf16'"):
            SemanticEncoder(**ENCODER, accelerator=fp16, random_state=0).fit(X, y)
        # SASG, its encoder and its generator each check: the user reads it once per
        # accelerator
        import warnings

        another = accelerate.Accelerator(cpu=True, mixed_precision="fp16")
        for accelerator, expected in ((another, 1), (fp16, 0)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                SASGAugmenter(SemanticEncoder(**ENCODER), accelerator=accelerator, **SASG).fit(X, y)
            assert sum("mixed_precision='fp16'" in str(w.message) for w in caught) == expected
    finally:
        _reset_accelerate()
        accelerate.Accelerator(cpu=True)


def test_bad_accelerator(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="'accelerator' parameter"):
        SemanticEncoder(**ENCODER, accelerator="cuda").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'accelerator' parameter"):
        SASGAugmenter(accelerator=True, **SASG).fit(X, y)


_WORKER = """
import json, sys
import numpy as np
import torch
from accelerate import Accelerator
from semgaug_sk.augmentation import SASGAugmenter
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.windows import sliding_windows

torch.set_num_threads(1)
accelerator = Accelerator(cpu=True)
rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
w = sliding_windows(rec, window_ms=100, step_ms=50)
X, y = w.X, w.y
encoder = dict({encoder})
enc = SemanticEncoder(**dict(encoder, patience=1, lr=0.05, batch_size=16),
                      accelerator=accelerator, random_state=0).fit(X, y)
aug = SASGAugmenter(SemanticEncoder(**encoder), accelerator=accelerator, **{sasg}).fit(X, y)
X_syn, _ = aug.generate(2)
out = dict(
    distributed=str(accelerator.distributed_type),
    n_processes=accelerator.num_processes,
    n_epochs=enc.n_epochs_,
    proba=enc.predict_proba(X).tolist(),
    synthetic=X_syn.tolist(),
    ema=[p.flatten().tolist() for p in aug.diffusion_.ema_module_.parameters()],
)
with open(f"{{sys.argv[1]}}/rank{{accelerator.process_index}}.json", "w") as fh:
    json.dump(out, fh)
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not torch.distributed.is_available() or sys.platform == "win32",
    reason="torch.distributed (gloo) is needed for a two-process run",
)
def test_two_process_data_parallel_training(tmp_path):
    """Two CPU processes train with DistributedDataParallel: both end with the same model."""
    params = dict(ENCODER, max_epochs=30)
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(_WORKER.format(encoder=params, sasg=SASG)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert all(
        r["distributed"] == "DistributedType.MULTI_CPU" and r["n_processes"] == 2 for r in ranks
    )
    # early stopping decided the same in both processes, and the weights stayed in sync
    assert ranks[0]["n_epochs"] == ranks[1]["n_epochs"] < 30
    assert ranks[0]["proba"] == ranks[1]["proba"]
    assert ranks[0]["ema"] == ranks[1]["ema"]
    # generation runs in each process on its own: same seed, same windows
    synthetic = np.asarray(ranks[0]["synthetic"])
    assert synthetic.shape == (6, 4, 20) and np.isfinite(synthetic).all()
    assert ranks[0]["synthetic"] == ranks[1]["synthetic"]


class _PickledAccelerator:
    """An Accelerator as it arrives in another process: accelerate's state not set up."""

    class state:  # noqa: N801 - the attribute accelerate's Accelerator has
        initialized = False

    num_processes = 1

    def prepare(self, *args):
        raise AssertionError("a refused accelerator is never used")

    unwrap_model = reduce = prepare


def test_an_accelerator_from_another_process_is_refused_before_training(data):
    # it failed deep inside accelerate (GridSearchCV n_jobs=2 turned the fits into NaN scores)
    X, y = data
    for estimator in (
        SemanticEncoder(**ENCODER, accelerator=_PickledAccelerator()),
        SASGAugmenter(accelerator=_PickledAccelerator(), **SASG),
    ):
        with pytest.raises(ValueError, match="created in another process .* n_jobs=1"):
            estimator.fit(X, y)
