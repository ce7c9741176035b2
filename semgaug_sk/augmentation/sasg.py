"""SASGAugmenter: semantic-aware, sparse-guided diffusion augmentation (SASG-DA).

Liu et al., SASG-DA (arXiv 2511.08344; IEEE JBHI 2026), sparse-aware
semantic-guided diffusion augmentation for myoelectric gesture recognition. The sampler

1. trains a :class:`~semgaug_sk.encoders.SemanticEncoder` on the real windows
   (SRG: its embedding is the condition);
2. trains a conditional 1-D U-Net diffusion model (x0 prediction, cosine
   schedule, Fourier loss, condition dropout, EMA weights) through a skorch
   net;
3. samples new conditions per class with GMSS (class Gaussians) or SASS
   (rarity-selected, sparsity- and diversity-refined GMSS candidates), and
   generates windows with DDIM, keeping for SASS only windows the encoder
   assigns to the intended class with enough confidence.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping
from skorch.dataset import unpack_data
from skorch.history import History
from skorch.utils import to_tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ..encoders import SemanticEncoder
from ..nn.unet import (
    ConditionalDenoiser,
    ConditionalUNet1d,
    LabelConditioner,
    SemanticConditioner,
)
from ..persistence import fitted_attributes, load_weights, save_weights
from ..preprocessing import WindowStandardizer
from ..utils.accelerate import (
    AcceleratedGradientClipping,
    AcceleratedNetMixin,
    accelerate_net_kwargs,
    accelerator_device,
    trained_module,
)
from ..utils.torch_utils import fused_adam_kwargs, resolve_device, to_numpy, torch_seed
from ..utils.training import TrainingInterrupted, interrupted_by_user
from ..utils.validation import check_random_state_seed
from .base import BaseWindowSampler
from .checkpoint import SlotCheckpoint, fit_fingerprint, latest_checkpoint, load_checkpoint
from .conditions import (
    fit_class_gaussians,
    gaussian_factors,
    sample_gmss,
    sass_sample,
)
from .diffusion import cosine_alpha_bar, ddim_sample, guided_x0, x0_diffusion_loss

__all__ = ["SASGAugmenter", "DiffusionNet", "EMACallback"]


# ------------------------------------------------------------------------------------------
# skorch pieces
# ------------------------------------------------------------------------------------------
class DiffusionNet(NeuralNet):
    """skorch net that trains an x0-predicting conditional denoiser.

    ``fit(X)`` takes ``X = {"x0": windows, "cond": conditions}`` (``y=None``).
    Each training step draws a timestep and noise per window, drops conditions
    with probability ``cond_drop_prob`` and minimises
    ``criterion(x0_hat, x0) + fourier_weight * fourier_loss(x0_hat, x0)`` (see
    :func:`semgaug_sk.augmentation.diffusion.x0_diffusion_loss`). Everything else
    (optimiser, callbacks, logging, checkpointing, devices, pickling) is skorch's.
    Add :class:`EMACallback` to keep exponential-moving-average weights in
    ``ema_module_``.

    Parameters
    ----------
    module : torch.nn.Module
        ``module(x_t, t, cond, drop_mask) -> x0_hat``, e.g.
        :class:`~semgaug_sk.nn.unet.ConditionalDenoiser`.
    n_timesteps : int, default=500
        Diffusion steps of the cosine schedule.
    fourier_weight : float, default=0.1
        Weight of the rFFT-magnitude L1 loss.
    cond_drop_prob : float, default=0.1
        Probability of replacing a window's condition by the null condition.
    criterion : torch loss class, default=torch.nn.MSELoss
        Loss between predicted and true x0.
    **kwargs
        Any :class:`skorch.NeuralNet` parameter.

    Examples
    --------
    >>> from semgaug_sk.nn.unet import ConditionalUNet1d, LabelConditioner, ConditionalDenoiser
    >>> import numpy as np
    >>> den = ConditionalDenoiser(ConditionalUNet1d(2, 16, 8, base_channels=8),
    ...                           LabelConditioner(3, n_tokens=2, token_dim=8))
    >>> net = DiffusionNet(den, max_epochs=1, batch_size=4, train_split=None, verbose=0)
    >>> X = {"x0": np.zeros((8, 2, 16), "float32"), "cond": np.arange(8) % 3}
    >>> len(net.fit(X, None).history)
    1
    """

    def __init__(
        self,
        module,
        *args,
        n_timesteps=500,
        fourier_weight=0.1,
        cond_drop_prob=0.1,
        criterion=torch.nn.MSELoss,
        **kwargs,
    ):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.n_timesteps = n_timesteps
        self.fourier_weight = fourier_weight
        self.cond_drop_prob = cond_drop_prob

    def initialize_module(self):
        """Build ``module_`` and its EMA copy ``ema_module_`` (same weights, no gradients)."""
        super().initialize_module()
        ema = copy.deepcopy(self.module_)
        for p in ema.parameters():
            p.requires_grad_(False)
        self.ema_module_ = ema
        return self

    def get_all_learnable_params(self):
        """Only ``module_`` is optimised; ``ema_module_`` is averaged by :class:`EMACallback`."""
        yield from self.module_.named_parameters()

    def _batch_loss(self, batch):
        Xi, _ = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        alpha_bar = cosine_alpha_bar(self.n_timesteps, device=Xi["x0"].device)
        loss, _ = x0_diffusion_loss(
            self.module_,
            Xi["x0"],
            Xi["cond"],
            alpha_bar,
            cond_drop_prob=self.cond_drop_prob,
            fourier_weight=self.fourier_weight,
            criterion=self.criterion_,
        )
        return loss

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss = self._batch_loss(batch)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss = self._batch_loss(batch)
        return {"loss": loss, "y_pred": None}


class _AcceleratedDiffusionNet(AcceleratedNetMixin, DiffusionNet):
    """:class:`DiffusionNet` trained through Hugging Face Accelerate (``accelerator=``).

    The mixin's training step computes a classifier's loss; this one computes
    the diffusion loss under ``accelerator.autocast()`` and back-propagates
    with ``accelerator.backward``. The EMA copy has no trainable weights, so
    the accelerator only moves it to the process's device.
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        with self.accelerator.autocast():
            loss = self._batch_loss(batch)
            self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": None}


class EMACallback(Callback):
    """Keep exponential-moving-average weights of a skorch net's module.

    Uses :class:`torch.optim.swa_utils.AveragedModel` with
    :func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`, updated after every
    training step. At the end of training the averaged weights are copied into
    ``net.ema_module_`` (a plain module built by :class:`DiffusionNet`, so the
    net stays picklable and skorch maps it between devices like its other
    modules).

    Parameters
    ----------
    decay : float, default=0.999
        EMA decay per step.

    Examples
    --------
    >>> EMACallback(decay=0.99).decay
    0.99
    """

    def __init__(self, decay=0.999):
        self.decay = decay

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        resuming = len(net.history) > 0  # partial_fit or a resumed checkpoint
        start = net.ema_module_ if resuming else trained_module(net)
        self.averaged_ = AveragedModel(
            start, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=True
        )
        if resuming:
            self.averaged_.n_averaged.fill_(1)  # go on averaging instead of restarting

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.averaged_.update_parameters(trained_module(net))

    def copy_average_to(self, net):
        """Copy the running average into ``net.ema_module_`` (e.g. before a checkpoint)."""
        averaged = getattr(self, "averaged_", None)
        if averaged is not None:
            net.ema_module_.load_state_dict(averaged.module.state_dict())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.copy_average_to(net)
        self.__dict__.pop("averaged_", None)
        net.ema_module_.eval()


class _StepProgress(Callback):
    """tqdm progress bar over training steps (the bar is dropped at the end for pickling)."""

    def __init__(self, total, desc):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        main = accelerator is None or accelerator.is_local_main_process
        self.bar_ = tqdm(total=self.total, desc=self.desc, leave=False, disable=not main)

    def on_batch_end(self, net, training=None, loss=None, **kwargs):
        if training and hasattr(self, "bar_"):
            self.bar_.update(1)
            if self.bar_.n % 50 == 0 and loss is not None:
                self.bar_.set_postfix(
                    loss=f"{float(loss.detach() if hasattr(loss, 'detach') else loss):.4f}"
                )

    def on_train_end(self, net, **kwargs):
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()


# ------------------------------------------------------------------------------------------
# the sampler
# ------------------------------------------------------------------------------------------
def _sub_seeds(seed, n):
    """``n`` independent 31-bit seeds derived deterministically from ``seed``."""
    states = np.random.SeedSequence(int(seed)).spawn(n)
    return [int(s.generate_state(1)[0] & 0x7FFFFFFF) for s in states]


class SASGAugmenter(BaseWindowSampler):
    """Semantic-guided diffusion augmentation of sEMG windows (SASG-DA).

    An imbalanced-learn sampler on 3-D windows ``(n_windows, n_channels,
    n_times)``: ``fit_resample(X, y)`` returns the real windows first and
    unchanged, followed by synthetic ones (``ratio`` x the real count of each
    class, or as ``sampling_strategy`` says); ``generate(n_per_class)`` returns
    synthetic windows only.

    **Model.** Windows are normalised per channel (statistics of the training
    windows), fed to a 1-D U-Net with cross-attention to condition tokens
    (:class:`~semgaug_sk.nn.unet.ConditionalUNet1d`; its depth adapts to
    ``n_times``), trained through skorch (:class:`DiffusionNet`) to predict x0
    under a cosine noise schedule, with an rFFT-magnitude loss, condition
    dropout (the learned null condition enables classifier-free guidance) and
    EMA weights. Sampling is DDIM in batches; outputs are de-normalised and,
    for non-negative data (the DB1 envelope), kept non-negative.

    **Conditions.** ``condition="semantic"`` (SRG): the standardised embedding
    of a :class:`~semgaug_sk.encoders.SemanticEncoder` trained on the same
    windows, split into ``n_cond_tokens`` tokens. ``condition="label"``: a
    learned class embedding (the label-only baseline); ``sampling``, the
    encoder and the confidence filter are then unused.

    **Sampling new conditions** (semantic only). ``sampling="gmss"`` draws from a
    per-class Gaussian with a shrinkage (OAS) covariance. ``sampling="sass"``
    draws ``sass_oversample`` x more GMSS candidates, keeps the rarest
    in-support ones by the k-NN rarity score of Han et al. (2022) against the
    class's real embeddings, moves them ``sass_steps`` gradient steps on a
    sparsity potential (log kernel density of the real embeddings) plus
    ``sass_diversity`` x a diversity potential (repulsion between candidates)
    inside an ε-ball (``sass_epsilon`` x the class's median k-NN radius), generates,
    and keeps windows the encoder assigns to the intended class with
    probability >= ``confidence_threshold``, topping up for up to
    ``max_rounds`` rounds. A remaining shortfall raises a ``UserWarning`` naming
    the class; windows that failed the filter are never returned (set
    ``confidence_threshold=0`` to disable the filter).

    Parameters
    ----------
    encoder : None or SemanticEncoder-like, default=None
        The semantic encoder. ``None`` builds a default
        :class:`~semgaug_sk.encoders.SemanticEncoder` at fit. An estimator with
        ``fit``, ``transform`` and ``predict_proba`` is cloned and fitted on
        the training windows (so cross-validation never leaks), unless
        ``refit_encoder=False``.
    condition : {"semantic", "label"}, default="semantic"
        Condition of the diffusion model.
    sampling : {"sass", "gmss"}, default="sass"
        How new semantic conditions are drawn (ignored for ``condition="label"``).
    ratio : float, default=2.0
        Synthetic windows per real window of each class (SASG-DA's 2 : 1 mix).
    sampling_strategy : None, str, dict or callable, default=None
        imbalanced-learn over-sampling strategy (e.g. ``"auto"`` balances the
        classes); overrides ``ratio``.
    refit_encoder : bool, default=True
        ``False`` uses ``encoder`` as already fitted (it must know every class
        of ``y``); a never-fitted encoder then raises ``NotFittedError``.
    base_channels : int, default=32
        Width of the U-Net's first level.
    channel_mults : tuple of int, default=(1, 2, 2)
        Width multipliers per U-Net level; the number of levels actually used
        also depends on ``n_times`` and ``min_length``.
    min_length : int, default=8
        The U-Net halves the length only while it stays >= ``min_length``
        (20-sample windows: 1 level; 52: 2 levels).
    n_cond_tokens : int, default=4
        Condition tokens for cross-attention.
    cond_token_dim : int, default=64
        Width of a condition token.
    n_timesteps : int, default=500
        Diffusion steps T of the cosine schedule.
    n_steps : int, default=3000
        Training steps (optimizer updates). Training runs whole epochs of
        ``ceil(n_windows / batch_size)`` steps, so the count is rounded up to a
        whole number of epochs (``n_train_steps_``). With an ``accelerator``
        running N processes, each step takes a mini-batch in every process
        (N x ``batch_size`` windows) and an epoch has N times fewer steps, so
        more epochs are run for the same ``n_steps``.
    batch_size : int, default=64
        Training mini-batch size (per process with an ``accelerator``).
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=0.0
        AdamW weight decay.
    ema_decay : float or None, default=None
        EMA decay per step. ``None`` sets ``1 - 10 / n_train_steps_`` (clipped to
        [0.5, 0.9999]): the average spans the last tenth of training, and the
        initial weights decay to e^-10 of the average.
    cond_drop_prob : float, default=0.1
        Condition dropout during training (enables classifier-free guidance).
    fourier_weight : float, default=0.1
        Weight of the rFFT-magnitude L1 loss added to the x0 MSE.
    n_sampling_steps : int, default=25
        DDIM steps at generation.
    eta : float, default=0.0
        DDIM noise (0: deterministic given the initial noise).
    guidance_scale : float, default=1.0
        Classifier-free guidance weight w. At 1 the unconditional pass is
        skipped (half the cost); values above 1 hurt on DB1/Myo in our tests
        and triple sampling time.
    nonnegative : {"auto", "clip", "log", "none"}, default="auto"
        Non-negative data (the DB1 envelope): ``"clip"`` clips generated
        windows at 0 after de-normalising; ``"log"`` models ``log1p(x / m_c)``
        (``m_c`` the channel mean) and maps back, then clips; ``"auto"`` is
        ``"clip"`` when every training value is >= 0, else ``"none"``.
    generate_batch_size : int, default=512
        Windows denoised (and, for SASS, filtered) at once at generation, and
        the block size of SASS's condition refinement (its diversity potential
        acts within blocks of this many conditions). Memory beyond the returned
        windows is bounded by it, not by the number of windows generated
        (``benchmarks/bench_memory.py``).
    gmss_covariance : {"oas", "ledoit_wolf"}, default="oas"
        Shrinkage estimator of the class covariances (:mod:`sklearn.covariance`).
        OAS keeps shrinking with very few windows per class, where Ledoit-Wolf
        can return a singular estimate; both stay valid with fewer windows than
        embedding dimensions.
    sass_oversample : float, default=4.0
        GMSS candidates drawn per SASS condition kept.
    sass_k : int, default=5
        Neighbour rank of the rarity balls. A class with fewer than
        ``sass_k + 1`` windows uses ``n_class - 1`` (with a warning); a class of
        one window falls back to GMSS (with a warning).
    sass_epsilon : float, default=0.5
        Radius of the ε-ball, in units of the class's median k-NN radius.
    sass_steps : int, default=20
        Gradient steps of the SASS refinement (0: selection only).
    sass_diversity : float, default=1.0
        Weight of the diversity potential.
    confidence_threshold : float, default=0.5
        SASS keeps a window when the encoder gives its intended class at least
        this probability. 0.5 is the smallest value that guarantees the
        intended class is the encoder's top prediction whatever the number of
        classes, while still accepting windows near a class boundary, which is
        where SASS pushes. ``0`` disables the filter.
    max_rounds : int, default=5
        SASS generation rounds per call (the first plus top-ups).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``; used for training
        and generation (the default encoder uses it too). Ignored when
        ``accelerator`` is given.
    checkpoint_dir : None, str or path-like, default=None
        Folder for resumable training checkpoints of the diffusion model
        (skorch's :class:`~skorch.callbacks.Checkpoint`: weights, optimiser,
        EMA weights and history, every ``checkpoint_every`` steps and at the
        end; the fitted encoder is saved too). Each fit writes to its own
        sub-folder ``sasg-<fingerprint>`` named by the training windows,
        labels and model-shaping parameters, so calling ``fit`` again with the
        same data and parameters (an int ``random_state``) *resumes* where the
        last checkpoint left off, e.g. after an interrupt or a crash, and a
        finished fit is reloaded without training. The resumed run continues
        from the saved weights and optimiser state; its batches are drawn
        afresh, so it is not bit-identical to an uninterrupted one. Not
        supported together with ``accelerator``. Files are read back with
        ``weights_only=True``; delete the folder to free the disk.
    checkpoint_every : int, default=500
        Diffusion training steps between checkpoints (rounded up to whole
        epochs).
    accelerator : None or accelerate.Accelerator, default=None
        Train the diffusion model (and the default encoder) through Hugging
        Face Accelerate (skorch's :class:`~skorch.hf.AccelerateMixin`):
        data-parallel training on several GPUs when the script is started with
        ``accelerate launch``, mixed precision or gradient accumulation, as the
        accelerator is configured; Accelerate places the model and the batches.
        Generation runs in each process on its own, on ``accelerator.device``:
        every process computes the same windows (same seed), so generate on
        the main process only. A user-given ``encoder`` keeps its own
        ``accelerator`` setting. See :ref:`scaling`.
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the encoder and diffusion model get independent
        sub-seeds, GMSS/SASS a numpy Generator and DDIM a torch Generator. The
        same int gives identical output on CPU.
    verbose : int, default=0
        1: progress bars for training and generation; 2: also skorch's
        per-epoch logs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Classes seen at fit.
    sampling_strategy_ : OrderedDict
        Synthetic windows per class that ``fit_resample`` generates.
    encoder_ : SemanticEncoder or None
        The fitted encoder (None for ``condition="label"``).
    embedding_dim_ : int or None
        Size of the semantic conditions.
    class_means_ : ndarray of shape (n_classes, embedding_dim_) or None
        GMSS means, rows in ``classes_`` order (encoder embedding space).
    class_covariances_ : ndarray of shape (n_classes, embedding_dim_, embedding_dim_) or None
        GMSS shrinkage covariances (isotropic for classes of one window).
    train_embeddings_ : ndarray of shape (n_windows, embedding_dim_) or None
        Encoder embeddings of the training windows (SASS's reference set).
    diffusion_ : DiffusionNet
        The trained skorch net; ``diffusion_.ema_module_`` generates.
    window_scaler_ : WindowStandardizer
        Per-channel normalisation of the model's input.
    nonnegative_ : {"clip", "log", "none"}
        Resolved ``nonnegative`` mode.
    n_train_steps_ : int
        Optimizer steps of the complete training.
    training_interrupted_ : bool
        Whether the diffusion training was interrupted (Ctrl-C). ``fit`` then
        raises :class:`~semgaug_sk.utils.training.TrainingInterrupted`, but
        the sampler stays usable with the weights learned so far;
        with ``checkpoint_dir``, fitting again resumes. An interrupt while
        the encoder trains leaves the sampler as it was before ``fit``.
    checkpoint_path_ : str or None
        This fit's checkpoint folder (None without ``checkpoint_dir``).
    resumed_steps_ : int
        Training steps loaded from a checkpoint instead of trained (0 when the
        fit started afresh).
    last_conditions_ : ndarray of shape (n_synthetic, embedding_dim_) or None
        Conditions of the windows returned by the last generation, aligned
        with them (None for ``condition="label"``).
    last_condition_labels_ : ndarray of shape (n_synthetic,)
        Their labels.
    last_acceptance_ : dict
        SASS only: fraction of generated windows that passed the confidence
        filter, per class, in the last generation.

    Notes
    -----
    Cost of the default preset's ``fit_resample`` (``benchmarks/bench_sasg.py
    --threads 1``, ``results/bench_sasg.md``; the two runs side by side on an
    idle 2-core CPU, one torch thread each):

    - NinaPro DB1 subject 1, repetitions {1, 2}: 728 windows of 10 x 20
      (200 ms, 100 ms step), 344k parameters, one U-Net level. **167 s**
      wall-clock: encoder 6 s, 3000 diffusion steps 145 s (20.7 steps/s),
      SASS generation and filtering of 1456 windows 16 s. Plain generation:
      192 windows/s.
    - Myo Male0, cycle 0 of ``training0``: 336 windows of 8 x 52, 493k
      parameters, two levels. 323 s wall-clock (10.0 steps/s); 73 windows/s.

    Tiny models run fastest on one torch thread; on a machine whose cores are
    busy, ``torch.set_num_threads(1)`` avoids the large slowdown of
    oversubscribed intra-op threads.

    Parameters that only affect generation (``sampling``, ``guidance_scale``,
    ``n_sampling_steps``, ``eta``, ``generate_batch_size``, the ``sass_*``
    parameters, ``confidence_threshold``, ``max_rounds``, ``device``) can be
    changed with ``set_params`` after fitting without refitting.

    A model trained on CUDA unpickles on a CPU-only machine: skorch maps the
    weights to the CPU and ``device`` is reset to ``"cpu"`` with a warning.
    :func:`semgaug_sk.persistence.save_weights` stores the fitted model without
    pickle (tensors and plain data, safe to share).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 16)).astype("float32"); y = np.repeat([0, 1], 20)
    >>> X[y == 1, 0] += 2.0
    >>> aug = SASGAugmenter(
    ...     encoder=SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2),
    ...     n_steps=5, base_channels=8, channel_mults=(1,), n_sampling_steps=3,
    ...     confidence_threshold=0.0, random_state=0)
    >>> X_res, y_res = aug.fit_resample(X, y)
    >>> X_res.shape, bool((X_res[:40] == X).all())
    ((120, 2, 16), True)
    """

    _parameter_constraints: dict = {
        **BaseWindowSampler._parameter_constraints,
        "encoder": [None, HasMethods(["fit", "transform", "predict_proba"])],
        "condition": [StrOptions({"semantic", "label"})],
        "sampling": [StrOptions({"sass", "gmss"})],
        "refit_encoder": ["boolean"],
        "base_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "channel_mults": [tuple, list],
        "min_length": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_cond_tokens": [Interval(numbers.Integral, 1, None, closed="left")],
        "cond_token_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_timesteps": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "ema_decay": [None, Interval(numbers.Real, 0, 1, closed="both")],
        "cond_drop_prob": [Interval(numbers.Real, 0, 1, closed="left")],
        "fourier_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "n_sampling_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "eta": [Interval(numbers.Real, 0, None, closed="left")],
        "guidance_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "nonnegative": [StrOptions({"auto", "clip", "log", "none"})],
        "generate_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "gmss_covariance": [StrOptions({"oas", "ledoit_wolf"})],
        "sass_oversample": [Interval(numbers.Real, 1, None, closed="left")],
        "sass_k": [Interval(numbers.Integral, 1, None, closed="left")],
        "sass_epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "sass_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "sass_diversity": [Interval(numbers.Real, 0, None, closed="left")],
        "confidence_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "max_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "accelerator": [None, HasMethods(["prepare", "unwrap_model", "reduce"])],
        "verbose": ["verbose"],
    }

    #: Parameters that only shape generation: changing them needs no refit, and
    #: they do not name a fit's checkpoint folder.
    _generation_params = (
        "ratio",
        "sampling_strategy",
        "sampling",
        "guidance_scale",
        "n_sampling_steps",
        "eta",
        "generate_batch_size",
        "sass_oversample",
        "sass_k",
        "sass_epsilon",
        "sass_steps",
        "sass_diversity",
        "confidence_threshold",
        "max_rounds",
    )

    def __init__(
        self,
        encoder=None,
        *,
        condition="semantic",
        sampling="sass",
        ratio=2.0,
        sampling_strategy=None,
        refit_encoder=True,
        base_channels=32,
        channel_mults=(1, 2, 2),
        min_length=8,
        n_cond_tokens=4,
        cond_token_dim=64,
        n_timesteps=500,
        n_steps=3000,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.0,
        ema_decay=None,
        cond_drop_prob=0.1,
        fourier_weight=0.1,
        n_sampling_steps=25,
        eta=0.0,
        guidance_scale=1.0,
        nonnegative="auto",
        generate_batch_size=512,
        gmss_covariance="oas",
        sass_oversample=4.0,
        sass_k=5,
        sass_epsilon=0.5,
        sass_steps=20,
        sass_diversity=1.0,
        confidence_threshold=0.5,
        max_rounds=5,
        device="cpu",
        checkpoint_dir=None,
        checkpoint_every=500,
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            ratio=ratio, sampling_strategy=sampling_strategy, random_state=random_state
        )
        self.encoder = encoder
        self.condition = condition
        self.sampling = sampling
        self.refit_encoder = refit_encoder
        self.base_channels = base_channels
        self.channel_mults = channel_mults
        self.min_length = min_length
        self.n_cond_tokens = n_cond_tokens
        self.cond_token_dim = cond_token_dim
        self.n_timesteps = n_timesteps
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.cond_drop_prob = cond_drop_prob
        self.fourier_weight = fourier_weight
        self.n_sampling_steps = n_sampling_steps
        self.eta = eta
        self.guidance_scale = guidance_scale
        self.nonnegative = nonnegative
        self.generate_batch_size = generate_batch_size
        self.gmss_covariance = gmss_covariance
        self.sass_oversample = sass_oversample
        self.sass_k = sass_k
        self.sass_epsilon = sass_epsilon
        self.sass_steps = sass_steps
        self.sass_diversity = sass_diversity
        self.confidence_threshold = confidence_threshold
        self.max_rounds = max_rounds
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.accelerator = accelerator
        self.verbose = verbose

    # -- fit ---------------------------------------------------------------------------------
    def _fit(self, X, y):
        if isinstance(self.encoder, type):
            raise TypeError(
                f"SASGAugmenter: encoder is the class {self.encoder.__name__}, not an instance; "
                f"pass encoder={self.encoder.__name__}(...)."
            )
        device = resolve_device(self.device) if self.accelerator is None else None
        mults = tuple(self.channel_mults)
        if not mults or any(
            isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1 for m in mults
        ):
            raise ValueError(
                f"SASGAugmenter: channel_mults must be a non-empty tuple of positive integers; "
                f"got {self.channel_mults!r}."
            )
        if self.checkpoint_dir is not None and self.accelerator is not None:
            raise ValueError(
                "SASGAugmenter: checkpoint_dir is not supported with an accelerator; use "
                "accelerator.save_state in your training script, or set checkpoint_dir=None."
            )
        seed = check_random_state_seed(self.random_state)
        enc_seed, diff_seed, gen_seed = _sub_seeds(seed, 3)
        codes = np.unique(y, return_inverse=True)[1].ravel().astype(np.int64)
        self.checkpoint_path_ = self._checkpoint_folder(X, y)

        if self.condition == "semantic":
            self._fit_semantic(X, y, codes, enc_seed)
            cond = (self.train_embeddings_ - self.cond_mean_) / self.cond_scale_
            cond = cond.astype(np.float32)
        else:
            self.encoder_ = None
            self.embedding_dim_ = None
            self.class_means_ = self.class_covariances_ = self.train_embeddings_ = None
            cond = codes

        Xn = self._normalise_fit(X)
        self._train_diffusion(Xn, cond, mults, device, diff_seed)
        self._train_codes = codes
        self._generation_rng = np.random.default_rng(gen_seed)
        self.last_conditions_ = None
        self.last_condition_labels_ = None
        self.last_acceptance_ = {}
        if self.training_interrupted_:
            done = sum(1 for row in self.diffusion_.history if "train_loss" in row)
            resume = (
                "Call fit again with the same data and parameters to resume from the last "
                f"checkpoint in {self.checkpoint_path_}."
                if self.checkpoint_path_
                else "Pass checkpoint_dir= to make a long fit resumable."
            )
            raise TrainingInterrupted(
                f"SASGAugmenter: diffusion training was interrupted after {done} of "
                f"{self._n_epochs} epochs; the sampler is usable "
                f"with the weights learned so far (training_interrupted_=True). {resume}",
                estimator=self,
            )
        return self

    def _checkpoint_folder(self, X, y):
        """This fit's checkpoint folder (created), or None without ``checkpoint_dir``."""
        if self.checkpoint_dir is None:
            return None
        unused = {"verbose", "device", "accelerator", "checkpoint_dir", "checkpoint_every"}
        unused |= set(self._generation_params)
        params = {k: repr(v) for k, v in self.get_params(deep=False).items() if k not in unused}
        folder = Path(self.checkpoint_dir) / f"sasg-{fit_fingerprint(X, y, params)[:16]}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"SASGAugmenter: cannot create the checkpoint folder {folder} ({exc}). Pass a "
                "writable checkpoint_dir, or checkpoint_dir=None."
            ) from exc
        return str(folder)

    def _fit_semantic(self, X, y, codes, seed):
        n_classes = len(self.classes_)
        if self.refit_encoder:
            if n_classes < 2:
                raise ValueError(
                    "SASGAugmenter(condition='semantic') trains its SemanticEncoder as a classifier "
                    f"and needs at least 2 classes; y has 1 ({self.classes_[0]!r}). Pass windows "
                    "of several gestures, use condition='label', or give a pre-fitted encoder "
                    "with refit_encoder=False."
                )
            if self.encoder is None:
                encoder = SemanticEncoder(
                    device=self.device,
                    accelerator=self.accelerator,
                    random_state=seed,
                    verbose=int(self.verbose >= 2),
                )
            else:
                encoder = clone(self.encoder)
                if "random_state" in encoder.get_params() and encoder.random_state is None:
                    encoder.set_params(random_state=seed)
            encoder = self._fit_or_load_encoder(encoder, X, y)
        else:
            if self.encoder is None:
                raise ValueError(
                    "SASGAugmenter: refit_encoder=False needs a fitted encoder; pass "
                    "encoder=SemanticEncoder(...).fit(X, y) or set refit_encoder=True."
                )
            try:
                check_is_fitted(self.encoder)
            except NotFittedError as exc:
                raise NotFittedError(
                    f"SASGAugmenter: refit_encoder=False but the encoder "
                    f"{type(self.encoder).__name__} was never fitted. Fit it first "
                    "(encoder.fit(X, y)) or set refit_encoder=True."
                ) from exc
            encoder = self.encoder
        known = {c: i for i, c in enumerate(np.asarray(encoder.classes_).tolist())}
        missing = [c for c in self.classes_.tolist() if c not in known]
        if missing:
            raise ValueError(
                f"SASGAugmenter: the encoder does not know the classes {missing!r} of y (it knows "
                f"{list(known)!r}). Fit the encoder on these classes or set refit_encoder=True."
            )
        self.encoder_ = encoder
        self._encoder_columns = np.array([known[c] for c in self.classes_.tolist()])
        emb = np.asarray(encoder.transform(X), dtype=np.float64)
        if emb.ndim != 2 or len(emb) != len(X):
            raise ValueError(
                f"SASGAugmenter: encoder.transform must return (n_windows, embedding_dim); got "
                f"shape {emb.shape}."
            )
        self.embedding_dim_ = emb.shape[1]
        self.train_embeddings_ = emb
        self.cond_mean_ = emb.mean(axis=0)
        self.cond_scale_ = np.where(emb.std(axis=0) > 1e-8, emb.std(axis=0), 1.0)
        means, covs, isotropic = fit_class_gaussians(
            emb, codes, n_classes, covariance=self.gmss_covariance
        )
        if isotropic:
            warnings.warn(
                f"SASGAugmenter: classes {self.classes_[isotropic].tolist()!r} have a single window; "
                "their GMSS covariance is isotropic with the pooled within-class variance.",
                UserWarning,
                stacklevel=4,
            )
        self.class_means_ = means
        self.class_covariances_ = covs
        self._class_factors = gaussian_factors(covs)

    def _fit_or_load_encoder(self, encoder, X, y):
        """Fit ``encoder``, or reload it from this fit's checkpoint folder (SemanticEncoder only)."""
        if self.checkpoint_path_ is None or type(encoder) is not SemanticEncoder:
            return encoder.fit(X, y)
        path = Path(self.checkpoint_path_) / "encoder.pt"
        if path.is_file():
            return load_weights(path, device=encoder.device, estimator_type=SemanticEncoder)
        encoder.fit(X, y)
        tmp = path.with_suffix(".tmp")
        save_weights(encoder, tmp)
        os.replace(tmp, path)  # never a half-written encoder file
        return encoder

    def _normalise_fit(self, X):
        mode = self.nonnegative
        if mode == "auto":
            mode = "clip" if float(X.min()) >= 0 else "none"
        if mode == "log" and float(X.min()) < 0:
            raise ValueError(
                "SASGAugmenter: nonnegative='log' needs non-negative windows, but X has values "
                f"down to {float(X.min()):.4g}. Use nonnegative='none' or 'clip' for raw sEMG."
            )
        self.nonnegative_ = mode
        self.log_scale_ = None
        Z = X.astype(np.float64)
        if mode == "log":
            scale = Z.mean(axis=(0, 2))
            self.log_scale_ = np.where(scale > 0, scale, 1.0)
            Z = np.log1p(Z / self.log_scale_[:, None])
        self.window_scaler_ = WindowStandardizer(per="channel").fit(Z)
        return self.window_scaler_.transform(Z).astype(np.float32)

    def _denormalise(self, Xn):
        Z = Xn * self.window_scaler_.scale_[:, None] + self.window_scaler_.mean_[:, None]
        if self.nonnegative_ == "log":
            Z = np.expm1(Z) * self.log_scale_[:, None]
        if self.nonnegative_ in ("clip", "log"):
            Z = np.clip(Z, 0, None)
        return Z

    def _build_denoiser(self, n_channels, n_times, mults):
        if self.condition == "semantic":
            conditioner = SemanticConditioner(
                self.embedding_dim_, self.n_cond_tokens, self.cond_token_dim
            )
        else:
            conditioner = LabelConditioner(
                len(self.classes_), self.n_cond_tokens, self.cond_token_dim
            )
        unet = ConditionalUNet1d(
            n_channels,
            n_times,
            self.cond_token_dim,
            base_channels=self.base_channels,
            channel_mults=mults,
            min_length=self.min_length,
        )
        return ConditionalDenoiser(unet, conditioner)

    def _make_diffusion_net(
        self, denoiser, *, batch_size, epochs, device, accelerator=None, extra_callbacks=()
    ):
        """The skorch net training ``denoiser`` (accelerated when ``accelerator`` is given)."""
        if accelerator is None:
            cls, kwargs = DiffusionNet, {"device": device}
            clip = GradientNormClipping(gradient_clip_value=1.0)
        else:
            cls, kwargs = (
                _AcceleratedDiffusionNet,
                accelerate_net_kwargs(accelerator, self.verbose >= 2),
            )
            clip = AcceleratedGradientClipping(gradient_clip_value=1.0)
        callbacks = [("grad_clip", clip), ("ema", EMACallback(self.ema_decay_))]
        if self.verbose:
            callbacks.append(("progress", _StepProgress(self.n_train_steps_, "SASG diffusion")))
        callbacks += list(extra_callbacks)  # after the EMA, which a checkpoint saves
        return cls(
            denoiser,
            n_timesteps=self.n_timesteps,
            fourier_weight=self.fourier_weight,
            cond_drop_prob=self.cond_drop_prob,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            **fused_adam_kwargs(kwargs["device"] if accelerator is None else accelerator.device),
            lr=self.lr,
            batch_size=batch_size,
            max_epochs=epochs,
            train_split=None,
            iterator_train__shuffle=True,
            callbacks=callbacks,
            verbose=int(self.verbose >= 2),
            **kwargs,
        )

    def _train_diffusion(self, Xn, cond, mults, device, seed):
        n, n_channels, n_times = Xn.shape
        batch_size = min(self.batch_size, n)
        # Steps per epoch in each process: data-parallel training splits the batches over them.
        n_processes = 1 if self.accelerator is None else int(self.accelerator.num_processes)
        per_epoch = math.ceil(math.ceil(n / batch_size) / n_processes)
        epochs = math.ceil(self.n_steps / per_epoch)
        self.n_train_steps_ = epochs * per_epoch
        decay = self.ema_decay
        if decay is None:
            decay = float(np.clip(1.0 - 10.0 / self.n_train_steps_, 0.5, 0.9999))
        self.ema_decay_ = decay
        self._n_epochs = epochs
        resume = None
        extra = []
        if self.checkpoint_path_ is not None:
            resume = latest_checkpoint(self.checkpoint_path_)
            every = math.ceil(self.checkpoint_every / per_epoch)
            extra = [("checkpoint", SlotCheckpoint(self.checkpoint_path_, every, epochs))]
        done = 0 if resume is None else min(resume[1], epochs)
        self.resumed_steps_ = done * per_epoch
        with torch_seed(seed if resume is None else seed + done):
            denoiser = self._build_denoiser(n_channels, n_times, mults)
            net = self._make_diffusion_net(
                denoiser,
                batch_size=batch_size,
                epochs=epochs - done,
                device=device,
                accelerator=self.accelerator,
                extra_callbacks=extra,
            )
            data = {"x0": Xn, "cond": cond}
            if resume is None:
                net.fit(data, None)
            else:
                net.initialize()
                load_checkpoint(net, resume[0])
                if done < epochs:
                    net.partial_fit(data, None)
        self.training_interrupted_ = interrupted_by_user(net, epochs)
        if self.accelerator is not None:
            # A plain net on this process's device: generation runs in each process on its
            # own, and the fitted sampler pickles like one trained without Accelerate.
            plain = self._make_diffusion_net(
                net.accelerator.unwrap_model(net.module_, keep_fp32_wrapper=False),
                batch_size=batch_size,
                epochs=epochs,
                device=accelerator_device(self.accelerator),
            ).initialize()
            plain.ema_module_ = net.ema_module_
            plain.history = net.history
            net = plain
        self.diffusion_ = net
        self.n_unet_levels_ = denoiser.unet.n_levels

    # -- conditions --------------------------------------------------------------------------
    def _sass_k_for(self, n_class):
        return min(self.sass_k, n_class - 1)

    def _warn_small_classes(self, codes):
        """Warn once per call about classes too small for the requested SASS k."""
        counts = np.bincount(self._train_codes, minlength=len(self.classes_))
        for c in np.unique(codes):
            if counts[c] < 2:
                warnings.warn(
                    f"SASGAugmenter: class {self.classes_.tolist()[c]!r} has 1 window, too few for SASS "
                    "rarity; its conditions are drawn with GMSS.",
                    UserWarning,
                    stacklevel=5,
                )
            elif counts[c] < self.sass_k + 1:
                warnings.warn(
                    f"SASGAugmenter: class {self.classes_.tolist()[c]!r} has {counts[c]} windows, fewer than "
                    f"sass_k + 1 = {self.sass_k + 1}; SASS uses k={counts[c] - 1} for it.",
                    UserWarning,
                    stacklevel=5,
                )

    def _draw_conditions(self, n_per_code, rng, method):
        """Raw-embedding conditions for ``{code: n}``; rows grouped by code in order."""
        conds, codes = [], []
        for c, n in n_per_code.items():
            if n == 0:
                continue
            real = self.train_embeddings_[self._train_codes == c]
            if method == "sass" and len(real) >= 2:
                z, _ = sass_sample(
                    real,
                    self.class_means_[c],
                    self._class_factors[c],
                    n,
                    rng,
                    k=self._sass_k_for(len(real)),
                    oversample=self.sass_oversample,
                    epsilon=self.sass_epsilon,
                    n_steps=self.sass_steps,
                    diversity=self.sass_diversity,
                    block_size=self.generate_batch_size,
                )
            else:
                z = sample_gmss(self.class_means_, self._class_factors, np.full(n, c), rng)
            conds.append(z)
            codes.append(np.full(n, c, dtype=np.int64))
        if not conds:
            return np.empty((0, self.embedding_dim_)), np.empty(0, dtype=np.int64)
        return np.concatenate(conds), np.concatenate(codes)

    def _counts_to_codes(self, n_per_class):
        """Validate ``{class: n}`` or an int into an OrderedDict ``{code: n}``."""
        check_is_fitted(self, "diffusion_")
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        if isinstance(n_per_class, Mapping):
            unknown = [c for c in n_per_class if c not in index]
            if unknown:
                raise ValueError(
                    f"SASGAugmenter: classes {unknown!r} were not seen at fit; choose among "
                    f"{self.classes_.tolist()!r}."
                )
            items = [(index[c], n) for c, n in n_per_class.items()]
        else:
            items = [(i, n_per_class) for i in range(len(self.classes_))]
        for code, n in items:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
                raise ValueError(
                    f"SASGAugmenter: the count for class {self.classes_.tolist()[code]!r} must be a "
                    f"non-negative integer; got {n!r}."
                )
        return OrderedDict(sorted((code, int(n)) for code, n in items))

    def sample_conditions(self, n_per_class):
        """Draw new semantic conditions with the current ``sampling`` method, without generating.

        Useful to inspect GMSS against SASS on the same fitted model (e.g. with
        :func:`semgaug_sk.metrics.rarity_score` against ``train_embeddings_``).
        SASS conditions here are the refined ones, before generation and the
        confidence filter.

        Parameters
        ----------
        n_per_class : int or dict
            Conditions per class: one int for every class, or ``{class: n}``.

        Returns
        -------
        conditions : ndarray of shape (n, embedding_dim_)
            In the encoder's embedding space, grouped by class in ``classes_`` order.
        labels : ndarray of shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(30, 2, 16)).astype("float32"); y = np.repeat([0, 1], 15)
        >>> aug = SASGAugmenter(encoder=SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2),
        ...                     n_steps=2, base_channels=8, channel_mults=(1,), random_state=0)
        >>> z, lab = aug.fit(X, y).sample_conditions(3)
        >>> z.shape, lab.tolist()
        ((6, 4), [0, 0, 0, 1, 1, 1])
        """
        n_per_code = self._counts_to_codes(n_per_class)
        if self.condition != "semantic":
            raise ValueError(
                "SASGAugmenter.sample_conditions: condition='label' has no semantic conditions "
                "to sample; the condition of each window is its class."
            )
        self._validate_params()
        if self.sampling == "sass":
            self._warn_small_classes([c for c, n in n_per_code.items() if n])
        conds, codes = self._draw_conditions(n_per_code, self._generation_rng, self.sampling)
        return conds, self.classes_[codes]

    # -- generation --------------------------------------------------------------------------
    def _generation_device(self):
        if self.accelerator is not None:
            return accelerator_device(self.accelerator)
        return resolve_device(self.device)

    def _iter_windows(self, cond, generator, desc="SASG generate"):
        """Yield ``(start, stop, windows)``: de-normalised DDIM windows, one batch at a time.

        Only one batch of ``generate_batch_size`` windows exists at a time (in
        float64 while de-normalised), so memory beyond the caller's output is
        bounded by the batch size.
        """
        device = self._generation_device()
        module = self.diffusion_.ema_module_.to(device).eval()
        alpha_bar = cosine_alpha_bar(self.n_timesteps, device=device)
        n = len(cond)
        shape = (self.n_channels_, self.n_times_)
        starts = range(0, n, self.generate_batch_size)
        for start in tqdm(starts, desc=desc, disable=not self.verbose, leave=False):
            stop = min(start + self.generate_batch_size, n)
            c = torch.as_tensor(cond[start:stop]).to(device)

            def x0_fn(x_t, t, c=c):
                return guided_x0(module, x_t, t, c, self.guidance_scale)

            x0 = ddim_sample(
                x0_fn,
                (stop - start, *shape),
                alpha_bar,
                n_steps=self.n_sampling_steps,
                eta=self.eta,
                generator=generator,
                device=device,
            )
            windows = self._denormalise(to_numpy(x0).astype(np.float64))
            yield start, stop, windows.astype(self.dtype_, copy=False)

    def _sample_windows(self, cond, generator, desc="SASG generate", out=None):
        """De-normalised windows for model-space conditions ``cond``, written into ``out``."""
        if out is None:
            out = np.empty((len(cond), self.n_channels_, self.n_times_), dtype=self.dtype_)
        for start, stop, windows in self._iter_windows(cond, generator, desc):
            out[start:stop] = windows
        return out[: len(cond)]

    def _model_conditions(self, conds, codes):
        if self.condition == "label":
            return codes.astype(np.int64)
        return ((conds - self.cond_mean_) / self.cond_scale_).astype(np.float32)

    def _generate(self, counts, out=None):
        self._validate_params()
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        n_per_code = OrderedDict(sorted((index[c], int(n)) for c, n in counts.items()))
        rng = self._generation_rng
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))

        if self.condition == "label":
            codes = np.repeat(list(n_per_code), list(n_per_code.values())).astype(np.int64)
            X = self._sample_windows(self._model_conditions(None, codes), generator, out=out)
            self.last_conditions_ = None
            self.last_condition_labels_ = self.classes_[codes]
            self.last_acceptance_ = {}
            return X, self.classes_[codes]

        if self.sampling == "gmss":
            conds, codes = self._draw_conditions(n_per_code, rng, "gmss")
            X = self._sample_windows(self._model_conditions(conds, codes), generator, out=out)
            self.last_conditions_ = conds
            self.last_condition_labels_ = self.classes_[codes]
            self.last_acceptance_ = {}
            return X, self.classes_[codes]
        return self._generate_sass(n_per_code, rng, generator, out)

    def _generate_sass(self, n_per_code, rng, generator, out=None):
        """SASS rounds; accepted windows go straight to their class's slots of the output."""
        self._warn_small_classes([c for c, n in n_per_code.items() if n])
        total = sum(n_per_code.values())
        if out is None:
            out = np.empty((total, self.n_channels_, self.n_times_), dtype=self.dtype_)
        z_out = np.empty((total, self.embedding_dim_))
        offset = dict(zip(n_per_code, np.cumsum([0, *n_per_code.values()])[:-1], strict=True))
        filled = dict.fromkeys(n_per_code, 0)
        remaining = dict(n_per_code)
        tried = dict.fromkeys(n_per_code, 0)
        passed = dict.fromkeys(n_per_code, 0)
        threshold = float(self.confidence_threshold)
        for round_ in range(self.max_rounds):
            request = OrderedDict()
            for c, left in remaining.items():
                if left <= 0:
                    continue
                if round_ == 0 or passed[c] == 0:
                    rate = 1.0 if round_ == 0 else 0.25
                else:
                    rate = passed[c] / tried[c]
                request[c] = min(int(math.ceil(left / max(rate, 0.1))), 10 * left)
            if not request:
                break
            conds, codes = self._draw_conditions(request, rng, "sass")
            batches = self._iter_windows(
                self._model_conditions(conds, codes), generator, desc=f"SASS round {round_ + 1}"
            )
            for start, stop, windows in batches:
                batch_codes = codes[start:stop]
                if threshold > 0:
                    proba = self.encoder_.predict_proba(windows)
                    column = self._encoder_columns[batch_codes]
                    ok = proba[np.arange(len(batch_codes)), column] >= threshold
                else:
                    ok = np.ones(len(batch_codes), dtype=bool)
                for c in np.unique(batch_codes):
                    rows = np.flatnonzero((batch_codes == c) & ok)
                    tried[c] += int(np.sum(batch_codes == c))
                    passed[c] += len(rows)
                    rows = rows[: remaining[c]]
                    at = offset[c] + filled[c]
                    out[at : at + len(rows)] = windows[rows]
                    z_out[at : at + len(rows)] = conds[start + rows]
                    filled[c] += len(rows)
                    remaining[c] -= len(rows)
        short = [c for c in n_per_code if remaining[c] > 0]
        if short:
            detail = ", ".join(
                f"class {self.classes_.tolist()[c]!r}: {remaining[c]} of {n_per_code[c]} missing"
                for c in short
            )
            warnings.warn(
                f"SASGAugmenter: after max_rounds={self.max_rounds} SASS rounds, too few windows "
                f"passed confidence_threshold={threshold} ({detail}); returning the windows that "
                "passed. Lower confidence_threshold, raise max_rounds, or train longer (n_steps).",
                UserWarning,
                stacklevel=4,
            )
        n_made = 0
        for c in n_per_code:  # close the gaps a shortfall left (moves only ever go forward)
            src = slice(offset[c], offset[c] + filled[c])
            out[n_made : n_made + filled[c]] = out[src]
            z_out[n_made : n_made + filled[c]] = z_out[src]
            n_made += filled[c]
        X_out, z_out = out[:n_made], z_out[:n_made]
        codes_out = np.concatenate([np.full(filled[c], c, dtype=np.int64) for c in n_per_code])
        self.last_conditions_ = z_out
        self.last_condition_labels_ = self.classes_[codes_out]
        self.last_acceptance_ = {
            self.classes_[c]: (passed[c] / tried[c] if tried[c] else float("nan"))
            for c in n_per_code
        }
        return X_out, self.classes_[codes_out]

    # -- persistence -------------------------------------------------------------------------
    def _get_weights_state(self):
        """Fitted state as tensors and plain data (see :mod:`semgaug_sk.persistence`).

        The diffusion net becomes the weights of its module and of its EMA copy,
        plus its training history; the encoder is stored as a nested estimator.
        """
        state = fitted_attributes(self)
        if "diffusion_" in state:
            net = self.diffusion_
            state["diffusion_"] = {
                "module": net.module_.state_dict(),
                "ema_module": net.ema_module_.state_dict(),
                "history": list(net.history),
            }
        return state

    def _set_weights_state(self, state, *, device):
        """Rebuild the fitted sampler from :meth:`_get_weights_state`'s output on ``device``."""
        state = dict(state)
        diffusion = state.pop("diffusion_", None)
        vars(self).update(state)
        if not self.refit_encoder and getattr(self, "encoder_", None) is not None:
            self.encoder_ = self.encoder  # the same object, as after fit
        if diffusion is None:
            return
        batch_size = min(self.batch_size, self.n_windows_fit_)
        with torch_seed(0):  # initial weights are overwritten below; the caller's RNG is left alone
            denoiser = self._build_denoiser(
                self.n_channels_, self.n_times_, tuple(self.channel_mults)
            )
            net = self._make_diffusion_net(
                denoiser,
                batch_size=batch_size,
                epochs=math.ceil(self.n_train_steps_ / math.ceil(self.n_windows_fit_ / batch_size)),
                device=device,
            ).initialize()
        net.module_.load_state_dict(diffusion["module"])
        net.ema_module_.load_state_dict(diffusion["ema_module"])
        net.ema_module_.eval()
        net.history = History(diffusion["history"])
        if denoiser.unet.n_levels != self.n_unet_levels_:
            raise RuntimeError(
                f"the rebuilt U-Net has {denoiser.unet.n_levels} levels, the stored one "
                f"{self.n_unet_levels_}"
            )
        self.diffusion_ = net

    def __setstate__(self, state):
        device = state.get("device")
        if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(
                f"SASGAugmenter was saved with device={device!r}, but CUDA is not available here; "
                "the weights are loaded on the CPU and device is set to 'cpu'.",
                UserWarning,
                stacklevel=2,
            )
            state["device"] = "cpu"
        super().__setstate__(state)
