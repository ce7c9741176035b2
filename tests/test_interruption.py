"""Interrupted fits and resumable SASG training.

A Ctrl-C is simulated by a network whose ``forward`` raises KeyboardInterrupt
after a number of training calls, which is where a real interrupt lands almost
always (inside a batch). The contract (``semgaug_sk.utils.training``):

- interrupted in its last training stage, an estimator is usable, flagged with
  ``training_interrupted_`` and raises ``TrainingInterrupted``;
- interrupted anywhere else, it is left exactly as before ``fit``;
- with ``checkpoint_dir``, fitting a SASGAugmenter again resumes its training.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from semgaug_sk.augmentation import SASS, SASGAugmenter
from semgaug_sk.augmentation.checkpoint import latest_checkpoint
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.imitation import FeatureImitator, FINClassifier
from semgaug_sk.nn.encoder import ConvEncoder
from semgaug_sk.nn.fin import FeatureImitatorNet
from semgaug_sk.nn.heads import FeatureMapCNN
from semgaug_sk.nn.unet import ConditionalDenoiser
from semgaug_sk.utils.training import TrainingInterrupted, interrupted_by_user
from semgaug_sk.windows import sliding_windows

ENCODER = dict(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=4, patience=3)
SASG = dict(
    n_steps=24,
    batch_size=16,
    base_channels=8,
    channel_mults=(1,),
    n_cond_tokens=2,
    cond_token_dim=16,
    n_sampling_steps=3,
    sampling=SASS(n_steps=2),
    max_rounds=1,
    confidence_threshold=0.0,
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    return w.X, np.array(["fist", "open", "pinch"])[w.y - 1]


@contextlib.contextmanager
def interrupt_after(module_cls, n_calls):
    """Make ``module_cls.forward`` raise KeyboardInterrupt after ``n_calls`` training calls."""
    original = module_cls.forward
    calls = {"n": 0}

    def forward(self, *args, **kwargs):
        if self.training:
            calls["n"] += 1
            if calls["n"] > n_calls:
                raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    module_cls.forward = forward
    try:
        yield calls
    finally:
        module_cls.forward = original


def sasg(**kwargs):
    return SASGAugmenter(SemanticEncoder(**ENCODER), **{**SASG, **kwargs})


# ------------------------------------------------------------------------------------------
# single-stage estimators: usable and flagged
# ------------------------------------------------------------------------------------------
def test_interrupted_encoder_is_usable_and_flagged(data):
    X, y = data
    enc = SemanticEncoder(**{**ENCODER, "max_epochs": 10})
    with interrupt_after(ConvEncoder, 5), pytest.raises(TrainingInterrupted, match="epoch"):
        enc.fit(X, y)
    assert enc.training_interrupted_ is True
    assert enc.n_epochs_ < 10
    proba = enc.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.isfinite(proba).all()
    assert set(enc.predict(X)) <= set(y)
    # a complete fit clears the flag
    assert SemanticEncoder(**ENCODER).fit(X, y).training_interrupted_ is False


def test_interrupted_imitator_is_usable_and_flagged(data):
    X, _ = data
    fin = FeatureImitator(hidden_size=4, num_layers=1, max_epochs=5, random_state=0)
    with interrupt_after(FeatureImitatorNet, 3), pytest.raises(TrainingInterrupted):
        fin.fit(X)
    assert fin.training_interrupted_ is True
    F = fin.transform(X)
    assert F.shape == (len(X), X.shape[1] * 4) and np.isfinite(F).all()


def test_interrupted_head_skips_fine_tuning_and_stays_usable(data):
    X, y = data
    imitator = FeatureImitator(hidden_size=4, num_layers=1, max_epochs=1, random_state=0).fit(X)
    clf = FINClassifier(imitator, max_epochs=8, fine_tune_epochs=2, random_state=0)
    with interrupt_after(FeatureMapCNN, 4), pytest.raises(TrainingInterrupted, match="fine_tuned_"):
        clf.fit(X, y)
    assert clf.training_interrupted_ is True and clf.fine_tuned_ is False
    assert set(clf.predict(X)) <= set(y)


def test_interrupt_in_an_earlier_stage_leaves_the_estimator_unfitted(data):
    X, y = data
    clf = FINClassifier(
        FeatureImitator(hidden_size=4, num_layers=1, max_epochs=3),
        max_epochs=2,
        fine_tune_epochs=1,
        random_state=0,
    )
    with interrupt_after(FeatureImitatorNet, 2), pytest.raises(KeyboardInterrupt) as info:
        clf.fit(X, y)
    assert not isinstance(info.value, TrainingInterrupted)
    assert "left as it was before fit" in str(info.value)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    assert not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


# ------------------------------------------------------------------------------------------
# SASGAugmenter
# ------------------------------------------------------------------------------------------
def test_sasg_interrupted_in_the_encoder_is_cleanly_unfitted(data):
    X, y = data
    aug = sasg()
    with interrupt_after(ConvEncoder, 3), pytest.raises(KeyboardInterrupt):
        aug.fit_resample(X, y)
    with pytest.raises(NotFittedError):
        aug.generate(2)
    assert not [k for k in vars(aug) if k.endswith("_") and not k.startswith("__")]


def test_failed_refit_keeps_the_previous_model(data):
    X, y = data
    aug = sasg().fit(X, y)
    before = dict(vars(aug))
    with interrupt_after(ConvEncoder, 3), pytest.raises(KeyboardInterrupt):
        aug.fit(X[::-1], y[::-1])
    assert vars(aug).keys() == before.keys()
    assert all(vars(aug)[k] is v for k, v in before.items())
    X_syn, _ = aug.generate(2)
    assert np.isfinite(X_syn).all()


def test_sasg_interrupted_in_diffusion_is_usable_and_flagged(data):
    X, y = data
    aug = sasg()
    with (
        interrupt_after(ConditionalDenoiser, 5),
        pytest.raises(TrainingInterrupted, match="checkpoint_dir"),
    ):
        aug.fit_resample(X, y)  # stops before generating: the user asked to stop
    assert aug.training_interrupted_ is True
    X_syn, y_syn = aug.generate(3)
    assert X_syn.shape == (9, *X.shape[1:]) and np.isfinite(X_syn).all()
    assert set(y_syn) == set(y)


def test_interrupted_generation_leaves_the_fitted_sampler_usable(data, monkeypatch):
    X, y = data
    aug = sasg(sampling="gmss")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SASGAugmenter, "_generate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        aug.fit_resample(X, y)
    monkeypatch.undo()
    assert aug.training_interrupted_ is False
    assert len(aug.generate(2)[1]) == 6


def test_checkpointed_fit_resumes_after_an_interrupt(data, tmp_path):
    X, y = data
    # 24 steps of 16-window batches; a checkpoint every 8 steps (whole epochs)
    aug = sasg(checkpoint_dir=tmp_path, checkpoint_every=8)
    per_epoch = int(np.ceil(len(X) / 16))
    with interrupt_after(ConditionalDenoiser, per_epoch + 3), pytest.raises(TrainingInterrupted):
        aug.fit(X, y)
    folder = aug.checkpoint_path_
    assert folder is not None and folder.startswith(str(tmp_path))
    saved = latest_checkpoint(aug.generator_.checkpoint_path_)
    assert saved is not None and saved[1] >= 1
    interrupted_epochs = sum(1 for row in aug.diffusion_.history if "train_loss" in row)

    resumed = sasg(checkpoint_dir=tmp_path, checkpoint_every=8).fit(X, y)
    assert resumed.checkpoint_path_ == folder
    assert resumed.training_interrupted_ is False
    assert resumed.resumed_steps_ == saved[1] * per_epoch > 0
    assert resumed.resumed_steps_ <= interrupted_epochs * per_epoch
    total = resumed.n_train_steps_ // per_epoch
    assert len(resumed.diffusion_.history) == total  # the saved epochs plus the rest
    assert latest_checkpoint(resumed.generator_.checkpoint_path_)[1] == total

    # a finished checkpoint is reloaded without training, to the same weights and output
    again = sasg(checkpoint_dir=tmp_path, checkpoint_every=8).fit(X, y)
    assert again.resumed_steps_ == again.n_train_steps_
    for a, b in zip(
        resumed.diffusion_.ema_module_.state_dict().values(),
        again.diffusion_.ema_module_.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.generate(2)[0], again.generate(2)[0])


def test_checkpoint_folder_is_per_fit(data, tmp_path):
    X, y = data
    a = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    # generation-only parameters share the trained model
    b = sasg(n_steps=2, checkpoint_dir=tmp_path, sampling="gmss", ratio=1.0).fit(X, y)
    assert a.checkpoint_path_ == b.checkpoint_path_ and b.resumed_steps_ == b.n_train_steps_
    # other data or a model parameter start afresh in another folder
    c = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X[:-3], y[:-3])
    d = sasg(n_steps=2, checkpoint_dir=tmp_path, lr=5e-3).fit(X, y)
    assert len({a.checkpoint_path_, c.checkpoint_path_, d.checkpoint_path_}) == 3
    assert c.resumed_steps_ == 0 and d.resumed_steps_ == 0


def test_cond_noise_names_its_own_folder_and_its_neutral_value_the_old_one(data, tmp_path):
    from semgaug_sk.augmentation.generator_settings import fingerprint_params

    X, y = data
    plain = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    noisy = sasg(n_steps=2, checkpoint_dir=tmp_path, cond_noise=0.5).fit(X, y)
    assert noisy.checkpoint_path_ != plain.checkpoint_path_ and noisy.resumed_steps_ == 0
    assert noisy.generator_.checkpoint_path_ != plain.generator_.checkpoint_path_
    # at 0 the parameter is left out of the fingerprint: folders named before it existed
    # (an interrupted fit of an earlier version) are still found
    assert "cond_noise" not in fingerprint_params(plain.get_params(deep=False))
    for neutral in (0.0, 0, None):
        again = sasg(n_steps=2, checkpoint_dir=tmp_path, cond_noise=neutral).fit(X, y)
        assert again.checkpoint_path_ == plain.checkpoint_path_
        assert again.resumed_steps_ == again.n_train_steps_


def test_corrupt_checkpoint_is_a_clear_error(data, tmp_path):
    X, y = data
    aug = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    slot, _ = latest_checkpoint(aug.generator_.checkpoint_path_)
    (slot / "params.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Delete the folder"):
        sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    # the encoder's file too: the user never saved it, so the advice is the folder's
    (Path(aug.checkpoint_path_) / "encoder.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"encoder checkpoint .*encoder\.pt.*Delete the folder"):
        sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)


def test_incomplete_slot_is_ignored(data, tmp_path):
    X, y = data
    aug = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    slot, epochs = latest_checkpoint(aug.generator_.checkpoint_path_)
    marker = slot / "complete.json"
    assert json.loads(marker.read_text()) == {"epochs": epochs}
    marker.unlink()  # as if an interrupt had landed during the save
    assert latest_checkpoint(aug.generator_.checkpoint_path_) is None
    fresh = sasg(n_steps=2, checkpoint_dir=tmp_path).fit(X, y)
    assert fresh.resumed_steps_ == 0


def test_checkpoint_with_accelerator_is_refused(data, tmp_path):
    accelerate = pytest.importorskip("accelerate")
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aug = sasg(checkpoint_dir=tmp_path, accelerator=accelerate.Accelerator(cpu=True))
        with pytest.raises(ValueError, match="accelerator"):
            aug.fit(X, y)


def test_interrupted_by_user_tells_early_stopping_from_an_interrupt():
    from skorch import NeuralNetRegressor
    from skorch.callbacks import EarlyStopping

    X = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    y = np.zeros((32, 1), "float32")
    net = NeuralNetRegressor(
        torch.nn.Linear,
        module__in_features=2,
        module__out_features=1,
        max_epochs=200,
        lr=0.0,  # nothing improves: early stopping after `patience` epochs
        callbacks=[EarlyStopping(patience=2)],
        verbose=0,
    ).fit(X, y)
    assert len(net.history) < 200
    assert not interrupted_by_user(net, 200)
    net.history.new_epoch()  # an epoch begun and never finished
    assert interrupted_by_user(net, 200)


class _InstanceNet(torch.nn.Module):
    def __init__(self, n_channels=3, n_classes=3, width=8):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_channels, width, 3, padding=1)
        self.head = torch.nn.Linear(width, n_classes)

    def forward(self, x):
        return self.head(self.conv(x).mean(-1))


def test_checkpoint_key_sees_what_a_repr_hides(data):
    from sklearn.base import clone

    from semgaug_sk.augmentation.checkpoint import param_digest

    # scikit-learn cuts long reprs: a setting in the cut middle used to share the folder
    long = dict(SASG, n_steps=3, lr=1e-3, weight_decay=1e-4, ema_decay=0.99, cond_drop_prob=0.2)
    a = SASGAugmenter(SemanticEncoder(**{**ENCODER, "n_blocks": 2}), **long)
    b = SASGAugmenter(SemanticEncoder(**{**ENCODER, "n_blocks": 3}), **long)
    assert param_digest(a) != param_digest(b)
    assert param_digest(a) == param_digest(clone(a))
    # a module instance is known by its weights and architecture, not its class name
    assert param_digest(_InstanceNet(width=8)) != param_digest(_InstanceNet(width=64))
    # a fitted estimator (a prior) by its fitted state: same settings, other data
    X, y = data
    fit_a = SemanticEncoder(**ENCODER, random_state=0).fit(X, y)
    fit_b = SemanticEncoder(**ENCODER, random_state=0).fit(X[::-1].copy(), y[::-1])
    assert repr(fit_a) == repr(fit_b) and param_digest(fit_a) != param_digest(fit_b)
    assert param_digest(fit_a) == param_digest(fit_a)


def test_an_encoder_given_as_a_module_instance_resumes_from_its_checkpoint(data, tmp_path):
    X, y = data
    encoder = SemanticEncoder(module=_InstanceNet(), embedding_dim=8, max_epochs=2)
    first = SASGAugmenter(encoder, **{**SASG, "n_steps": 2}, checkpoint_dir=tmp_path).fit(X, y)
    again = SASGAugmenter(encoder, **{**SASG, "n_steps": 2}, checkpoint_dir=tmp_path).fit(X, y)
    assert again.checkpoint_path_ == first.checkpoint_path_
    np.testing.assert_array_equal(again.encoder_.transform(X[:5]), first.encoder_.transform(X[:5]))


def test_checkpoint_key_of_a_loaded_fitted_estimator_is_the_same_in_every_process(data, tmp_path):
    # a run started again (another process) must find its checkpoint folder
    import subprocess
    import sys

    from semgaug_sk.persistence import save_weights

    X, y = data
    save_weights(SemanticEncoder(**ENCODER, random_state=0).fit(X, y), tmp_path / "enc.pt")
    code = (
        "from semgaug_sk.augmentation.checkpoint import param_digest\n"
        "from semgaug_sk.persistence import load_weights\n"
        f"print(param_digest(load_weights({str(tmp_path / 'enc.pt')!r})))\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64
