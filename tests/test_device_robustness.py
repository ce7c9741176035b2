"""Device handling that must hold wherever a net trains or serves, checked on the CPU.

* ``UnwrappedEarlyStopping`` removes a wrapper's ``module.`` prefix from the best
  weights, and leaves alone a network whose own child is named ``module``.
* The accelerated training steps (diffusion net and classifier) back-propagate outside
  ``accelerator.autocast()``.
* ``torch_seed`` gives CUDA's generators back to the caller when CUDA first starts inside
  the block (simulated here; a real-CUDA test runs where a GPU is).
* A fitted estimator served on another device moves its whole skorch net: every
  registered module and criterion (a class-weighted loss included) and the optimizers'
  state.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch import NeuralNetRegressor
from skorch.history import History

from semgaug_sk import SpatioTemporalClassifier
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.nn.losses import ClassWeightedCrossEntropy
from semgaug_sk.utils.accelerate import UnwrappedEarlyStopping
from semgaug_sk.utils.torch_utils import torch_seed
from semgaug_sk.windows import sliding_windows

try:
    import accelerate
    from accelerate.state import AcceleratorState, GradientState
except ImportError:  # the other tests run without it
    accelerate = None

ROOT = Path(__file__).resolve().parents[1]
needs_accelerate = pytest.mark.skipif(
    accelerate is None, reason="accelerate is not installed: pip install 'semgaug_sk[dist]'"
)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ------------------------------------------------------------------------------------------
# UnwrappedEarlyStopping
# ------------------------------------------------------------------------------------------
class _ChildNamedModule(torch.nn.Module):
    """A user's network whose first child is named ``module`` (keys ``module.weight``...)."""

    def __init__(self):
        super().__init__()
        self.module = torch.nn.Linear(3, 2)
        self.head = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.head(self.module(x))


class _OnlyChildNamedModule(torch.nn.Module):
    """Every key starts with ``module.``, as in the state of a wrapper."""

    def __init__(self):
        super().__init__()
        self.module = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.module(x)


def _restore_best(net, best):
    """Run the callback's end of training with ``best`` captured at an earlier epoch."""
    stopping = UnwrappedEarlyStopping(load_best=True, sink=lambda *_: None)
    stopping.on_train_begin(net)
    net.history = History()
    for epoch in (1, 2):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
    stopping.best_epoch_, stopping.best_model_weights_ = 1, best
    stopping.on_train_end(net)


def _best_weights(net):
    """Weights other than the module's current ones (so that restoring them shows)."""
    return {key: value + 1.0 for key, value in net.module_.state_dict().items()}


def _assert_weights(module, expected):
    state = module.state_dict()
    assert set(state) == set(expected)
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


@pytest.mark.parametrize("module", [_ChildNamedModule, _OnlyChildNamedModule])
def test_early_stopping_keeps_a_child_named_module_of_an_unwrapped_net(module):
    """On the CPU, without Accelerate: no wrapper, so no prefix is taken off."""
    net = NeuralNetRegressor(module, device="cpu").initialize()
    best = _best_weights(net)
    _restore_best(net, dict(best))
    _assert_weights(net.module_, best)


@pytest.mark.parametrize("module", [torch.nn.Linear, _ChildNamedModule])
def test_early_stopping_removes_the_prefix_of_a_wrapper(module):
    """Weights captured through a DDP wrapper (``module.`` + the module's keys) fit the
    module unwrapped after training, a child named ``module`` included."""
    kwargs = (
        {"module__in_features": 3, "module__out_features": 1} if module is torch.nn.Linear else {}
    )
    net = NeuralNetRegressor(module, device="cpu", **kwargs).initialize()
    best = _best_weights(net)
    _restore_best(net, {"module." + key: value for key, value in best.items()})
    _assert_weights(net.module_, best)


# ------------------------------------------------------------------------------------------
# backward outside autocast
# ------------------------------------------------------------------------------------------
def _reset_accelerate():
    """Accelerate's state is process-wide; reset it so another configuration can be built."""
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture
def bf16_accelerator():
    """A CPU accelerator whose ``autocast()`` is enabled (bf16 mixed precision)."""
    _reset_accelerate()
    try:
        yield accelerate.Accelerator(cpu=True, mixed_precision="bf16")
    finally:
        _reset_accelerate()


def _watch_autocast(monkeypatch, accelerator, module):
    """Record whether autocast is enabled where backward runs.

    ``calls``: at each ``accelerator.backward`` call; ``grads``: in each gradient hook of
    ``module``'s parameters (autograd runs them with the state backward was called in).
    """
    calls, grads = [], []
    backward = accelerator.backward

    def spy(loss, **kwargs):
        calls.append(torch.is_autocast_enabled("cpu"))
        return backward(loss, **kwargs)

    monkeypatch.setattr(accelerator, "backward", spy)
    for p in module.parameters():
        p.register_hook(lambda grad: grads.append(torch.is_autocast_enabled("cpu")) or grad)
    return calls, grads


@needs_accelerate
def test_diffusion_net_backpropagates_outside_autocast(bf16_accelerator, monkeypatch):
    from semgaug_sk.augmentation.nets import _AcceleratedDiffusionNet
    from semgaug_sk.nn.unet import ConditionalDenoiser, ConditionalUNet1d, LabelConditioner

    with torch_seed(0):
        denoiser = ConditionalDenoiser(
            ConditionalUNet1d(2, 16, 8, base_channels=8),
            LabelConditioner(3, n_tokens=2, token_dim=8),
        )
        net = _AcceleratedDiffusionNet(
            denoiser,
            accelerator=bf16_accelerator,
            device=None,
            n_timesteps=20,
            max_epochs=2,
            batch_size=4,
            train_split=None,
            verbose=0,
        ).initialize()
        # under autocast, as the step computes it
        with bf16_accelerator.autocast():
            assert torch.is_autocast_enabled("cpu")
        calls, grads = _watch_autocast(monkeypatch, bf16_accelerator, net.module_)
        X = {"x0": torch.randn(8, 2, 16).numpy(), "cond": np.arange(8) % 3}
        net.partial_fit(X, None)
    assert len(calls) == 4 and grads  # 2 epochs of 2 batches
    assert not any(calls), "accelerator.backward ran under autocast"
    assert not any(grads), "gradients were computed under autocast"
    losses = net.history[:, "train_loss"]
    assert len(losses) == 2 and np.isfinite(losses).all()
    assert all(torch.isfinite(p).all() for p in net.module_.parameters())


@needs_accelerate
def test_classifier_net_backpropagates_outside_autocast(bf16_accelerator, monkeypatch):
    from semgaug_sk.utils.accelerate import AcceleratedNetClassifier

    X = torch.randn(24, 6).numpy()
    y = np.arange(24) % 3
    X[y == 0, 0] += 3.0
    with torch_seed(0):
        net = AcceleratedNetClassifier(
            torch.nn.Linear(6, 3),
            criterion=torch.nn.CrossEntropyLoss,
            accelerator=bf16_accelerator,
            device=None,
            max_epochs=5,
            batch_size=8,
            lr=0.1,
            train_split=None,
            verbose=0,
        ).initialize()
        calls, grads = _watch_autocast(monkeypatch, bf16_accelerator, net.module_)
        net.partial_fit(X, y)
    assert len(calls) == 15 and grads
    assert not any(calls) and not any(grads)
    losses = net.history[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


# ------------------------------------------------------------------------------------------
# torch_seed and CUDA started inside the block
# ------------------------------------------------------------------------------------------
class _FakeCuda:
    """CUDA's global generators as torch seeds them, without a GPU.

    Before CUDA starts, ``manual_seed_all`` only queues its seed, for when CUDA starts
    (torch's lazy seeding); a generator's state is ``(seed, draws)``.
    """

    DEFAULT_SEED = 67280421310721  # torch's default seed of a new generator

    def __init__(self, monkeypatch, *, started=False):
        self.started = started
        self.queued = None
        self.state = (self.DEFAULT_SEED, 0) if started else None
        for name, value in {
            "is_available": lambda: True,
            "is_initialized": lambda: self.started,
            "_is_in_bad_fork": lambda: False,
            "manual_seed_all": self.manual_seed_all,
            "get_rng_state_all": lambda: [torch.tensor(self.state)],
            "set_rng_state_all": self.set_rng_state_all,
        }.items():
            monkeypatch.setattr(torch.cuda, name, value)

    def manual_seed_all(self, seed):
        if self.started:
            self.state = (int(seed), 0)
        else:
            self.queued = int(seed)

    def set_rng_state_all(self, states):
        assert self.started, "setting CUDA states starts CUDA"
        self.state = tuple(int(v) for v in states[0])

    def start(self):
        self.started = True
        self.state = (self.DEFAULT_SEED if self.queued is None else self.queued, 0)
        self.queued = None

    def draw(self):
        seed, draws = self.state
        self.state = (seed, draws + 1)


@pytest.fixture
def caller_rng():
    """Leave the global CPU generator of the test run as it was."""
    state = torch.random.get_rng_state()
    yield
    torch.random.set_rng_state(state)


def test_cuda_started_inside_torch_seed_is_given_back_to_the_caller(caller_rng, monkeypatch):
    cuda = _FakeCuda(monkeypatch)
    torch.manual_seed(123)  # CUDA not started: its seed is queued
    cpu_before = torch.random.get_rng_state()
    with torch_seed(0):
        cuda.start()  # a fit on CUDA starts it inside the block
        assert cuda.state == (0, 0)  # seeded
        cuda.draw()
    # as CUDA would have started after the caller's torch.manual_seed(123), untouched
    assert cuda.started and cuda.state == (123, 0)
    assert torch.equal(torch.random.get_rng_state(), cpu_before)


def test_cuda_started_inside_torch_seed_without_a_caller_seed(caller_rng, monkeypatch):
    cuda = _FakeCuda(monkeypatch)
    torch.random.set_rng_state(torch.Generator().get_state())  # torch's default, unseeded
    with torch_seed(7):
        cuda.start()
        cuda.draw()
    assert cuda.state == (_FakeCuda.DEFAULT_SEED, 0)


def test_cuda_not_started_keeps_the_callers_queued_seed(caller_rng, monkeypatch):
    cuda = _FakeCuda(monkeypatch)
    torch.manual_seed(123)
    with torch_seed(0):
        assert cuda.queued == 0  # a fit starting CUDA in the block is seeded
    assert not cuda.started and cuda.queued == 123  # not the block's seed
    cuda.start()
    assert cuda.state == (123, 0)


def test_cuda_in_use_gets_its_states_back(caller_rng, monkeypatch):
    cuda = _FakeCuda(monkeypatch, started=True)
    cuda.state = (5, 7)
    with torch_seed(0):
        assert cuda.state == (0, 0)
        cuda.draw()
    assert cuda.state == (5, 7)


_CUDA_SEED_SCRIPT = """
import torch
from semgaug_sk.utils.torch_utils import torch_seed

torch.manual_seed(123)
assert not torch.cuda.is_initialized()
with torch_seed(0):
    inside = torch.rand(4, device="cuda")  # CUDA starts inside the block
assert torch.cuda.is_initialized()
after = torch.rand(4, device="cuda")
torch.cuda.manual_seed_all(0)
assert torch.equal(inside, torch.rand(4, device="cuda")), "not seeded inside"
torch.cuda.manual_seed_all(123)
assert torch.equal(after, torch.rand(4, device="cuda")), "the caller's CUDA seed was lost"
print("ok")
"""


@pytest.mark.cuda
@needs_cuda
def test_torch_seed_gives_back_cuda_started_inside_on_a_gpu():
    """In a fresh process, so that CUDA really starts inside the block."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CUDA_SEED_SCRIPT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


# ------------------------------------------------------------------------------------------
# serving on another device moves the whole net
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weighted_classifier():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    keep = (w.y != 3) | (np.arange(len(w.y)) % 3 == 0)  # an imbalanced set
    y = np.array(["fist", "open", "pinch"])[w.y[keep] - 1]
    return SpatioTemporalClassifier(
        min_steps=None, n_temporal=4, max_epochs=2, class_weight="balanced", random_state=0
    ).fit(w.X[keep], y)


def _copy(est):
    return pickle.loads(pickle.dumps(est))


def _tensors(obj):
    if isinstance(obj, torch.nn.Module):
        return list(obj.parameters()) + list(obj.buffers())
    return [
        v for state in obj.state.values() for v in state.values() if isinstance(v, torch.Tensor)
    ]


def test_serving_device_moves_every_module_criterion_and_optimizer_state(
    weighted_classifier, monkeypatch
):
    """Simulated device change: the "meta" device stands in for a GPU (a CPU run can
    tell its tensors apart, where "cpu" to "cpu" could not). Moving there replaces the
    parameters, so the optimizer must also be pointed at the new ones."""
    import semgaug_sk.base as base

    est = _copy(weighted_classifier)
    net = est.net_
    assert isinstance(net.criterion_, ClassWeightedCrossEntropy)
    parts = {name: getattr(net, name + "_") for name in net._modules + net._criteria}
    parts.update({name: getattr(net, name + "_") for name in net._optimizers})
    assert {"module", "criterion", "optimizer"} <= set(parts)
    assert all(_tensors(part) for part in parts.values())  # weights, class weights, Adam state

    monkeypatch.setattr(base, "resolve_device", lambda device: "meta")
    assert est._serving_device() == "meta" and net.device == "meta"
    for name in parts:
        part = getattr(net, name + "_")
        assert part is parts[name]  # moved in place, as skorch moves them
        devices = {t.device.type for t in _tensors(part)}
        assert devices == {"meta"}, f"{name}_ left on {devices}"
    # the optimizer still holds the module's (moved) parameters
    held = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    assert held == {id(p) for p in net.module_.parameters()}


def test_serving_on_the_same_device_moves_nothing(weighted_classifier, monkeypatch):
    est = _copy(weighted_classifier)
    moved = []
    to = torch.nn.Module.to

    def spy(self, *args, **kwargs):
        moved.append(self)
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", spy)
    proba = est.predict_proba(np.zeros((2, est.n_channels_, est.n_times_), np.float32))
    assert moved == [] and est.net_.device == "cpu" and np.isfinite(proba).all()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_sasg_refuses_a_missing_device_before_its_encoder_trains(monkeypatch):
    # the encoder trained fully (minutes at the defaults) before the generator refused CUDA
    from semgaug_sk.augmentation import SASGAugmenter
    from semgaug_sk.encoders import SemanticEncoder

    trained = []
    monkeypatch.setattr(SemanticEncoder, "fit", lambda self, *a, **k: trained.append(1))
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype(np.float32)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        SASGAugmenter(SemanticEncoder(max_epochs=1), device="cuda").fit(X, np.repeat([0, 1], 6))
    assert not trained


def test_the_diffusion_epoch_table_has_no_colour_codes_in_logs():
    from semgaug_sk.augmentation.generator import DiffusionGenerator
    from semgaug_sk.augmentation.nets import make_diffusion_net
    from semgaug_sk.base import PlainPrintLog

    gen = DiffusionGenerator(verbose=2)
    gen.ema_decay_, gen.n_train_steps_ = 0.99, 1
    net = make_diffusion_net(
        gen, torch.nn.Linear(2, 2), batch_size=2, epochs=1, device="cpu"
    ).initialize()
    assert isinstance(dict(net.callbacks_)["print_log"], PlainPrintLog)


def test_torch_seed_gives_the_mps_generator_back_and_leaves_other_devices_alone(
    caller_rng, monkeypatch
):
    # torch.manual_seed also seeds MPS (and XPU, ...): every fit on a Mac left the
    # caller's MPS generator seeded with the fit's seed, even for device="cpu"
    calls = []
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda: torch.tensor([123]))
    monkeypatch.setattr(torch.mps, "manual_seed", lambda seed: calls.append(("seed", seed)))
    monkeypatch.setattr(
        torch.mps, "set_rng_state", lambda state: calls.append(("state", int(state[0])))
    )
    monkeypatch.setattr(torch.xpu, "manual_seed_all", lambda seed: calls.append(("xpu", seed)))
    with torch_seed(7):
        assert calls == [("seed", 7)]  # a fit on MPS draws from a seeded generator
    assert calls == [("seed", 7), ("state", 123)]  # the caller's state, given back
