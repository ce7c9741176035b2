"""The conditional diffusion generator of sEMG windows, shared by every SASG mode.

:class:`DiffusionGenerator` normalises windows, trains a conditional 1-D U-Net
denoiser through skorch (:class:`~semgaug_sk.augmentation.nets.DiffusionNet`)
and samples windows for *given* conditions (DPM-Solver++(2M) or DDIM). A condition is an integer
class code (one learned embedding per class) or a float vector (split into
tokens for cross-attention). Where conditions come from (GMSS, SASS, the class
label) is the caller's business.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from ..nn.unet import (
    ConditionalDenoiser,
    ConditionalUNet1d,
    LabelConditioner,
    SemanticConditioner,
)
from ..persistence import fitted_attributes
from ..utils.accelerate import accelerator_device
from ..utils.progress import progress
from ..utils.torch_utils import (
    CPUFallbackOwner,
    cpu_fallback_state,
    resolve_device,
    to_numpy,
)
from ..utils.training import TrainingInterrupted, restore_on_failure
from ..utils.validation import (
    RefuseBoolNumbersMixin,
    caller_stacklevel,
    check_random_state_seed,
    check_windows,
)
from .checkpoint import end_fit_folder, fit_folder, is_private_folder, param_digest
from .diffusion import (
    check_strength,
    cosine_alpha_bar,
    ddim_sample,
    dpmpp_2m_sample,
    guided_x0,
    x0_from_prediction,
)
from .generator_settings import (
    GENERATION_PARAMS,
    GENERATOR_CONSTRAINTS,
    RUNTIME_PARAMS,
    check_generator_settings,
    check_guidance,
    check_sampler,
    fingerprint_params,
    patch_size_of,
)
from .nets import diffusion_net_weights, fit_diffusion_net, load_diffusion_net
from .normalisation import (
    denormalise,
    fit_normalisation,
    nonnegative_mode,
    normalise,
    rescaled_normalisation,
    with_flat_channels_of,
)

__all__ = ["DiffusionGenerator"]


def _x0_function(module, cond, guidance_scale, alpha_bar, prediction):
    """``x0_fn(x_t, t)`` for the sampler on one batch of conditions.

    At ``guidance_scale == 1`` (the default) only the conditional pass runs, and
    what the network computes from the condition alone (the tokens, their
    embedding and every attention block's projections), which does not change
    over the sampling steps, is computed once per batch instead of once per
    step. Guidance combines the raw predictions; the conversion to x0 is affine,
    so this equals guiding x0.
    """
    if guidance_scale == 1.0:
        tokens = module.unet.prepare_context(module.conditioner(cond))

        def predict(x_t, t):
            return module.unet(x_t, t, tokens)

    else:

        def predict(x_t, t):
            return guided_x0(module, x_t, t, cond, guidance_scale)

    if prediction == "x0":
        return predict

    def x0_fn(x_t, t):
        return x0_from_prediction(predict(x_t, t), x_t, t, alpha_bar, prediction)

    return x0_fn


_ARCHITECTURE_PARAMS = ("base_channels", "channel_mults", "min_length", "n_cond_tokens")
_ARCHITECTURE_PARAMS += ("cond_token_dim", "n_timesteps", "prediction")


def _checked_init_gain(gain, init, X, nonnegative):
    """``init_gain`` as float64 of shape (n_channels,), positive and finite, or a clear error.

    Fine-tuning in ``init``'s data space keeps its non-negative mode: another requested
    mode, or signed windows for an init of non-negative ones, are refused.
    """
    if init is None:
        raise ValueError(
            "DiffusionGenerator.fit: init_gain is the gain of X relative to init's data; "
            "pass init= too, or drop init_gain."
        )
    gain = np.asarray(gain, dtype=np.float64)
    if gain.shape != (X.shape[1],) or not (np.isfinite(gain).all() and (gain > 0).all()):
        raise ValueError(
            f"DiffusionGenerator.fit: init_gain must hold one positive, finite value per "
            f"channel ({X.shape[1]}), e.g. semgaug_sk.preprocessing.channel_rms(X); got "
            f"shape {gain.shape}."
        )
    mode = init.nonnegative_
    if nonnegative_mode(nonnegative) not in ("auto", mode):
        raise ValueError(
            f"DiffusionGenerator.fit: with init_gain the generator keeps init's data space, "
            f"whose nonnegative mode is {mode!r}; got nonnegative={nonnegative!r}. Use "
            f"nonnegative='auto' or {mode!r}, or fine-tune without init_gain."
        )
    if mode in ("clip", "log") and float(np.min(X)) < 0:
        raise ValueError(
            f"DiffusionGenerator.fit: init was trained on non-negative windows "
            f"(nonnegative_={mode!r}), but X holds negative values; fine-tune it on windows "
            "of its kind."
        )
    return gain


def _check_init(init, X, cond, gen):
    """Refuse an ``init`` generator whose network a fit of ``gen`` on ``X, cond`` cannot load."""
    check_is_fitted(init, "net_")
    problems = []
    if (init.n_channels_, init.n_times_) != X.shape[1:]:
        problems.append(
            f"windows of shape (channels, samples) {X.shape[1:]} where init was fitted on "
            f"({init.n_channels_}, {init.n_times_})"
        )
    if cond.ndim == 2 and init.cond_dim_ != cond.shape[1]:
        problems.append(
            f"condition vectors of size {cond.shape[1]} where init has "
            f"{init.cond_dim_ or 'class codes'}"
        )
    if cond.ndim == 1 and (init.n_classes_ is None or int(cond.max()) + 1 > init.n_classes_):
        problems.append(
            f"{int(cond.max()) + 1} class codes where init has "
            f"{init.n_classes_ or 'condition vectors'}"
        )
    if gen.checkpoint_dir is not None:
        problems.append("checkpoint_dir is set (a fine-tuning fit is not resumable)")
    mine_patch = gen._patch_size_for(X)
    their_patch = getattr(init, "patch_size_", 1)
    if mine_patch != their_patch:
        problems.append(
            f"max_length={gen.max_length!r} folds the windows into patches of {mine_patch} "
            f"sample(s) where init folds them into {their_patch} (set max_length="
            f"{init.max_length!r})"
        )
    mine, theirs = gen.get_params(), init.get_params()
    problems += [
        f"{p}={mine[p]!r} where init has {theirs[p]!r}"
        for p in _ARCHITECTURE_PARAMS
        if tuple(np.atleast_1d(mine[p])) != tuple(np.atleast_1d(theirs[p]))
    ]
    if problems:
        raise ValueError(
            "DiffusionGenerator.fit: cannot fine-tune from init: "
            + "; ".join(problems)
            + ". Fine-tune with the init generator's parameters (clone(init), "
            "checkpoint_dir=None) on windows and conditions of its kind."
        )


def _integer_codes(cond, who):
    """``cond`` as int64 class codes, or a clear error for non-integral values."""
    if cond.dtype.kind in "iu":
        return cond.astype(np.int64)
    if cond.dtype.kind != "f" or not np.isfinite(cond).all() or np.any(cond != np.round(cond)):
        raise ValueError(
            f"{who}: 1-D conditions are class codes and must be integers; got dtype "
            f"{cond.dtype}{'' if cond.dtype.kind != 'f' else ' with non-integral or NaN values'}. "
            "Pass condition vectors as a 2-D array (n, d)."
        )
    return cond.astype(np.int64)


def _checked_fit_conditions(cond, *, fine_tuning=False):
    """The fit's conditions checked: codes ``>= 0`` (gaps warned about), or finite vectors."""
    who = "DiffusionGenerator.fit"
    if cond.ndim == 2:
        if cond.dtype.kind == "b":  # one-hot or multi-hot flags
            cond = cond.astype(np.float32)
        if cond.dtype.kind not in "iuf":
            raise ValueError(
                f"{who}: condition vectors must be real numbers; got dtype {cond.dtype}. "
                "Pass a numeric (n, d) array."
            )
        if not np.isfinite(cond).all():
            raise ValueError(
                f"{who}: condition vectors contain NaN or inf, which would make every "
                "training loss NaN. Drop or impute those rows."
            )
        if cond.shape[1] == 0:
            raise ValueError(
                f"{who}: condition vectors have length 0, which conditions on nothing; pass "
                "vectors of length >= 1, or class codes (a 1-D array)."
            )
        if cond.size and np.abs(cond).max() > np.finfo(np.float32).max:
            raise ValueError(
                f"{who}: condition values exceed float32's range (~3.4e38), where the network "
                "computes; they would become inf and every training loss NaN. Rescale them."
            )
        return cond
    codes = _integer_codes(cond, who)
    if len(codes) and codes.min() < 0:
        raise ValueError(
            f"{who}: class codes must be >= 0; got {int(codes.min())}. Re-code the labels "
            "with np.unique(labels, return_inverse=True)."
        )
    if len(codes) and not fine_tuning:  # fine-tuned codes index the init's trained table
        unused = np.setdiff1d(np.arange(codes.max() + 1), codes)
        if len(unused):
            warnings.warn(
                f"{who}: class codes {unused[:10].tolist()}{' ...' if len(unused) > 10 else ''} "
                f"never occur among 0..{int(codes.max())}; their embeddings stay untrained. "
                "Re-code the labels with np.unique(labels, return_inverse=True).",
                UserWarning,
                stacklevel=3,
            )
    return codes


#: Parameters that decide what the network learns to predict and from what: sampling
#: reads the network through them.
_TRAINED_SETTINGS = ("prediction", "n_timesteps", "cond_drop_prob")


class DiffusionGenerator(CPUFallbackOwner, RefuseBoolNumbersMixin, BaseEstimator):
    """Conditional diffusion generator of sEMG windows, trained through skorch.

    ``fit(X, conditions)`` normalises the windows per channel and trains a 1-D
    U-Net denoiser (:class:`~semgaug_sk.nn.unet.ConditionalUNet1d`) to predict x0
    (or the noise, or the velocity: ``prediction``), with an rFFT-magnitude loss,
    condition dropout, gradient clipping and EMA weights. ``sample(conditions)``
    denoises with ``sampler`` in batches, back to the data's scale. Conditions are class codes ``0 .. n_classes_ - 1`` (int) or
    vectors of shape ``(n, d)`` (float).

    Parameters
    ----------
    base_channels : int, default=32
        Width of the U-Net's first level; small, for data sets of hundreds of windows
        (on DB1's inner split 16 fitted 1.75x faster but made the worst class's FID
        1.43 +- 0.54 times as large; ``results/ablate_width``). At least 4: it is
        also the timestep embedding's width.
    channel_mults : tuple of int, default=(1, 2, 2)
        Width multipliers per level; the levels used also depend on ``n_times``.
        ``(1, 1, 1)`` trains 1.4x faster but made Myo windows 4% weaker.
    min_length : int, default=8
        The U-Net halves the length only while it stays >= this (short windows keep one level).
    max_length : int or None, default=None
        Fold windows longer than this into patches before the U-Net: a trade of fidelity
        for speed on long windows (1-2 kHz devices), off by default. ``ceil(n_times /
        max_length)`` consecutive samples of every channel are stacked as channels
        (:func:`~semgaug_sk.nn.unet.fold_patches`), the U-Net works on the shorter
        sequence and its output is unfolded back. A patch is at most ``base_channels //
        n_channels`` samples long, so that the first level has a feature for every value
        of a position (:func:`~semgaug_sk.nn.unet.patch_size_for`). Windows of at most
        ``max_length`` samples are not folded. Measured on 1 s Myo windows (8 x 200,
        folded by 4 at ``max_length=64``; 3 subjects x 3 seeds on an inner split,
        ``benchmarks/ablate_patch.py``): fit about 2.3x and generation about 4x faster,
        median RMS and std ratios kept (std ratio +0.03), but the worst class's FID
        against the training windows 1.85x as large, so folding is not the default.
        Folded by 2 (``max_length=100``) the same Myo windows still lost amplitude
        (median RMS ratio -0.03) and the worst-class FID grew 1.56x, for a fit 1.6x
        and generation 3.4x faster. On 1 s DB1 windows (10 x 100, folded by 2), which
        are smooth envelopes, it cost nothing measurable, for a fit 1.3x faster. So
        fold envelopes (rectified and low-passed signals) rather than raw EMG. None
        never folds.
    n_cond_tokens : int, default=4
        Condition tokens for cross-attention: a few views of one embedding.
    cond_token_dim : int, default=64
        Width of a condition token; at least 3 (the tokens are layer-normalised).
    n_timesteps : int, default=500
        Diffusion steps T of the cosine schedule; enough for DDIM with few sampling steps.
    prediction : {"x0", "eps", "v"}, default="x0"
        The denoiser's target: the clean window, the noise or the velocity
        ``sqrt(ab) eps - sqrt(1 - ab) x0`` (:mod:`~semgaug_sk.augmentation.diffusion`).
        Sampling always works on the implied x0 (clamped to ``x0_range_`` for "eps").
        On an inner split of the training repetitions (``benchmarks/ablate_generator.py``)
        "v" gave more faithful DB1 envelopes (x0's are about a third too smooth) but
        Myo windows 16% too weak, where x0's were within 10%; "eps" failed on small
        training sets. The default stays "x0" until one choice wins on both.
    n_steps : int, default=750
        Training budget in batches: the generator sees ``n_steps * batch_size``
        windows, rounded up to whole epochs. On a set smaller than ``batch_size``
        each step is one full pass and there are proportionally more of them
        (``n_train_steps_``), so small sets are not under-trained. An epoch of n
        windows takes ``ceil(n / batch_size)`` steps of windows spread evenly
        over them (257 windows: 129 + 128, never 256 + 1). With an ``accelerator`` of N
        processes each process sees that budget.
        750 batches of 256 show the generator as many windows as 3000 batches of
        64 (the earlier default), in fewer, larger kernels. On an inner split of
        the training repetitions (``benchmarks/ablate_generator.py``, DB1 and Myo,
        3 seeds) the FID and inner gain were unchanged, DB1 windows 4% smoother.
        A third of the windows (1000 x 64) raised the FID by a fifth. On sets
        smaller than a batch (Myo and UCI inner splits of 168 and 106 windows,
        2 subjects x 3 seeds each) 750 plain full passes left windows smoother
        (within-window std ratio -0.019 / -0.013 against 3000 x 64) and fewer
        classes in the 10% band (-0.14 / -0.08); keeping the windows seen
        recovered both (-0.004 / -0.000, -0.02 / 0) at the former cost, with the
        same FID and inner gain.
    batch_size : int, default=256
        Training mini-batch (per process with an ``accelerator``); at most the
        number of training windows.
    lr : float, default=2e-3
        AdamW learning rate, stable for small U-Nets with clipping (scaled by the
        square root of the batch from 1e-3 at 64).
    weight_decay : float, default=0.0
        AdamW weight decay; the EMA already regularises.
    ema_decay : float or None, default=None
        EMA decay per optimizer step, in [0, 1) (1 is refused at fit); None sets
        ``1 - 10 / n_updates`` (clipped to [0.5, 0.9999]), so the average spans the last
        tenth of training. ``n_updates`` is ``n_train_steps_``, or fewer under an
        accelerator's gradient accumulation (one optimizer step per accumulated group
        and at each epoch's end). An explicit decay that keeps more than 5% of the first
        step's weights after training (``decay ** (n_updates - 1) > 0.05``, e.g. 0.999
        over 750 steps) warns, except when fine-tuning from ``init``.
    cond_drop_prob : float, default=0.1
        Condition dropout, which trains the null condition for guidance.
    cond_noise : float, default=0.0
        Sd of Gaussian noise added to vector conditions at each training step, in
        the conditions' own units (SASGAugmenter's are standardised embeddings, sd
        1 per dimension): conditioning augmentation
        (:func:`~semgaug_sk.augmentation.diffusion.diffusion_loss`). Without it, a
        generator trained to the default budget on a few hundred windows decodes its
        condition nearly deterministically: on NinaPro DB1, starting generation from
        a real window of the class left the synthetic class means where pure
        generation puts them (``benchmarks/probe_anchor_strength.py``). Class codes
        ignore it.
    fourier_weight : float, default=0.1
        Weight of the rFFT-magnitude L1 loss, which keeps the spectrum.
    n_sampling_steps : int, default=10
        Solver steps at generation, one network pass each: a fraction of T
        (at most ``n_timesteps``: more takes ``n_timesteps`` steps, with a
        warning).
        The default was chosen with ``sampler`` by an ablation on an inner
        repetition split (``results/ablate_sampling_steps``): 10
        DPM-Solver++(2M) steps keep amplitude and spread at least as well as
        25 DDIM steps, 2.5x faster; 10 DDIM steps make Myo windows about 3%
        weaker, and 5 DPM-Solver++(2M) steps lose Myo amplitude.
    sampler : {"dpmpp_2m", "ddim"}, default="dpmpp_2m"
        How the probability-flow ODE is stepped at generation: DPM-Solver++(2M)
        (second order, multistep,
        :func:`~semgaug_sk.augmentation.diffusion.dpmpp_2m_sample`) or DDIM
        (first order, :func:`~semgaug_sk.augmentation.diffusion.ddim_sample`),
        at one network pass per step either way. Even with an exact denoiser,
        DDIM's discretisation shrinks the spread of the samples at few steps.
    timestep_spacing : {"uniform", "quadratic", "logsnr"}, default="uniform"
        Where the ``n_sampling_steps`` passes fall on the schedule
        (:func:`~semgaug_sk.augmentation.diffusion.sampling_timesteps`): evenly in
        ``t``, quadratically denser near the data (Song et al. 2021), or evenly in
        log-SNR (Lu et al. 2022). Only shapes generation. With an exact denoiser the
        denser spacings keep the spread of narrow data that 10 uniform steps lose, but
        with the trained denoiser they left real windows no less smooth, Myo's
        weaker, and accuracy unchanged on an inner split
        (``benchmarks/ablate_timestep_spacing.py``), so the default stays "uniform".
    eta : float in [0, 1], default=0.0
        DDIM noise; 0 is deterministic given the initial noise, 1 is DDPM's
        ancestral sampling. Only ``sampler="ddim"`` takes ``eta > 0``.
    guidance_scale : float, default=1.0
        Classifier-free guidance weight; 1 skips the unconditional pass.
    nonnegative : {"auto", "clip", "log", "none"} or bool, default="auto"
        Keeps an envelope non-negative (:mod:`~semgaug_sk.augmentation.normalisation`);
        ``"auto"`` clips when every training value is >= 0. True is ``"clip"`` and
        False ``"none"``, as :class:`~semgaug_sk.augmentation.ClassicAugmenter` reads them. With
        ``fit(init_gain=...)`` the mode is ``init``'s (``"auto"`` or that mode;
        another is refused), and a signed ``init`` fine-tuned on non-negative
        windows clips.
    generate_batch_size : int, default=512
        Windows denoised at once: memory is bounded by it, not by the output.
        The output depends on it too: the noise is drawn batch by batch, so the
        same seed gives the same windows at the same ``generate_batch_size``.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``; ignored with an ``accelerator``.
    checkpoint_dir : None, str or path-like, default=None
        Folder of resumable checkpoints. Each fit writes to a sub-folder
        ``diffusion-<fingerprint>`` named by the data and the model-shaping
        parameters, so fitting again resumes or reloads it.
    checkpoint_every : int, default=500
        Training steps between checkpoints (rounded up to whole epochs).
    accelerator : None or accelerate.Accelerator, default=None
        Train through Hugging Face Accelerate; sampling then runs on
        ``accelerator.device`` in each process.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the batches and :meth:`sample`'s noise.
    verbose : int, default=0
        1: progress bars; 2: also skorch's per-epoch log.

    Attributes
    ----------
    net_ : DiffusionNet
        The trained net; ``net_.ema_module_`` samples.
    window_scaler_, nonnegative_, log_scale_, flat_channels_
        The normalisation (:func:`~.normalisation.fit_normalisation`).
    n_classes_, cond_dim_ : int or None
        Number of class codes (integer conditions) or length of the vectors.
    n_windows_fit_, n_channels_, n_times_ : int
        Shape of the training windows.
    dtype_ : numpy dtype
        Dtype of the training windows and of the samples.
    n_train_steps_, n_epochs_, ema_decay_, n_unet_levels_
        Optimizer steps, epochs, resolved EMA decay and U-Net levels.
    patch_size_ : int
        Samples per patch the U-Net folds the windows into (1: not folded; ``max_length``).
    x0_range_ : float
        Largest absolute normalised training value. With ``prediction="eps"`` DDIM
        clamps each x0 estimate to it: ``(x_t - sqrt(1 - ab) eps) / sqrt(ab)``
        divides by nearly 0 at the first, noisiest steps.
    training_interrupted_ : bool
        Whether training was interrupted (``fit`` then raised
        :class:`~semgaug_sk.utils.training.TrainingInterrupted`; usable anyway).
    checkpoint_path_, resumed_steps_
        This fit's checkpoint folder (or None), and the steps loaded from it.
    trained_settings_ : dict
        ``prediction``, ``n_timesteps`` and ``cond_drop_prob`` as trained: sampling
        reads the network's output with these, whatever the parameters are set to since.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 2, 16)).astype("float32")
    >>> gen = DiffusionGenerator(n_steps=2, base_channels=8, channel_mults=(1,),
    ...                          n_sampling_steps=2, random_state=0)
    >>> gen.fit(X, np.arange(12) % 3).sample(np.array([0, 2])).shape
    (2, 2, 16)
    """

    _parameter_constraints: dict = GENERATOR_CONSTRAINTS

    def __init__(
        self,
        *,
        base_channels=32,
        channel_mults=(1, 2, 2),
        min_length=8,
        max_length=None,
        n_cond_tokens=4,
        cond_token_dim=64,
        n_timesteps=500,
        prediction="x0",
        n_steps=750,
        batch_size=256,
        lr=2e-3,
        weight_decay=0.0,
        ema_decay=None,
        cond_drop_prob=0.1,
        cond_noise=0.0,
        fourier_weight=0.1,
        n_sampling_steps=10,
        sampler="dpmpp_2m",
        timestep_spacing="uniform",
        eta=0.0,
        guidance_scale=1.0,
        nonnegative="auto",
        generate_batch_size=512,
        device="cpu",
        checkpoint_dir=None,
        checkpoint_every=500,
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        self.base_channels = base_channels
        self.channel_mults = channel_mults
        self.min_length = min_length
        self.max_length = max_length
        self.n_cond_tokens = n_cond_tokens
        self.cond_token_dim = cond_token_dim
        self.n_timesteps = n_timesteps
        self.prediction = prediction
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.cond_drop_prob = cond_drop_prob
        self.cond_noise = cond_noise
        self.fourier_weight = fourier_weight
        self.n_sampling_steps = n_sampling_steps
        self.sampler = sampler
        self.timestep_spacing = timestep_spacing
        self.eta = eta
        self.guidance_scale = guidance_scale
        self.nonnegative = nonnegative
        self.generate_batch_size = generate_batch_size
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    # -- fit ---------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True  # the conditions
        return tags

    def fit(self, X, conditions, *, init=None, init_gain=None):
        """Train the denoiser on windows ``X`` and their ``conditions``.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        conditions : array-like of shape (n_windows,) of int, or (n_windows, d) of float
            Class codes ``0 .. n_classes - 1``, or condition vectors.
        init : DiffusionGenerator, optional
            A fitted generator of the same architecture (window shape, condition kind
            and size, network parameters) whose averaged weights training starts from:
            fine-tuning, e.g. of a population prior
            (:class:`~semgaug_sk.augmentation.prior.PopulationPrior`). ``n_steps`` then
            counts the fine-tuning steps.
        init_gain : array-like of shape (n_channels,), optional
            With ``init``: the per-channel gain of ``X`` relative to the data ``init``
            was trained on (``X / init_gain`` lies in ``init``'s data space, e.g. a
            prior's windows divided by their subject's channel RMS). The generator
            then keeps ``init``'s normalisation, rescaled by the gain
            (:func:`~.normalisation.rescaled_normalisation`), and fine-tunes in the
            space ``init`` learned; it generates in ``X``'s units. None refits the
            normalisation on ``X``.

        Returns
        -------
        self : DiffusionGenerator
        """
        self._validate_params()
        # a one-position window (or U-Net level) leaves GroupNorm nothing to normalise in a
        # batch of one window, which any sample() call can end with
        X = check_windows(X, min_times=2, estimator=self)
        cond = np.asarray(conditions)
        if cond.ndim not in (1, 2) or len(cond) != len(X):
            raise ValueError(
                f"DiffusionGenerator: conditions must have shape (n_windows,) or (n_windows, d) "
                f"with n_windows={len(X)}; got {cond.shape}."
            )
        cond = _checked_fit_conditions(cond, fine_tuning=init is not None)
        check_generator_settings(self.get_params(), X, "DiffusionGenerator")
        if init is not None:
            _check_init(init, X, cond, self)
        if init_gain is not None:
            init_gain = _checked_init_gain(init_gain, init, X, self.nonnegative)
        self._init = init  # read by _fit and _build_denoiser, dropped after the fit
        self._init_gain = init_gain
        try:
            with restore_on_failure(self):
                self._fit(X, cond)
        finally:
            vars(self).pop("_init", None)  # also after restore_on_failure reset the state
            vars(self).pop("_init_gain", None)
        return self

    def _fit(self, X, cond):
        if cond.ndim == 1:
            cond = cond.astype(np.int64)
            n_codes = int(cond.max()) + 1
            if self._init is not None:  # the init generator's table of class codes
                n_codes = self._init.n_classes_
            self.n_classes_, self.cond_dim_ = n_codes, None
        else:
            cond = cond.astype(np.float32)
            self.n_classes_, self.cond_dim_ = None, int(cond.shape[1])
        self.n_windows_fit_, self.n_channels_, self.n_times_ = X.shape
        self.dtype_ = X.dtype
        self.patch_size_ = self._patch_size_for(X)
        seed = check_random_state_seed(self.random_state)
        self._sampling_rng = np.random.default_rng([seed, 1])
        gain = getattr(self, "_init_gain", None)
        if gain is None:
            Xn, normalisation = fit_normalisation(X, self.nonnegative)
        else:  # fine-tuning in the data space init learned, at X's gain
            # X's recording decides which electrodes are dead, not init's population
            normalisation = with_flat_channels_of(rescaled_normalisation(self._init, gain), X)
            Xn = normalise(X, normalisation)
            if normalisation["nonnegative_"] == "none" and self.nonnegative == "auto":
                # non-negative windows from a signed init: kept non-negative, as "auto"
                # promises ("clip" only acts when de-normalising, the space is the same)
                if float(X.min()) >= 0:
                    normalisation["nonnegative_"] = "clip"
        vars(self).update(normalisation)
        self.x0_range_ = max(float(Xn.max()), -float(Xn.min()))  # no |Xn| copy
        # what the network learned to predict, on which schedule and with which null
        # condition: sampling must read its output the same way
        self.trained_settings_ = {p: getattr(self, p) for p in _TRAINED_SETTINGS}
        self.checkpoint_path_ = self._checkpoint_folder(X, cond, seed)
        private = self.checkpoint_path_ is not None and is_private_folder(self.checkpoint_path_)
        try:
            vars(self).update(fit_diffusion_net(self, Xn, cond, seed))
        finally:  # also when training fails: a lock left behind would keep others out
            if self.checkpoint_path_ is not None:
                self.checkpoint_path_ = end_fit_folder(self.checkpoint_path_)
        self._record_params_at_fit()
        if self.training_interrupted_:
            done = sum(1 for row in self.net_.history if "train_loss" in row)
            resume = (
                "It trained in a private checkpoint folder, deleted now, because another fit "
                "of the same data and parameters held the shared one: fit again when that "
                "one is over to reload or resume its training."
                if private
                else "Fit again with the same data and parameters to resume from the last "
                f"checkpoint in {self.checkpoint_path_}"
                + (
                    " (random_state=None draws a new seed, and a new folder, at each fit: pass "
                    "an int random_state to resume)."
                    if self.random_state is None
                    else "."
                )
                if self.checkpoint_path_
                else "Fit again to adapt from the start (a short fine-tuning keeps no checkpoint)."
                if self._init is not None
                else "Pass checkpoint_dir= to make a long fit resumable."
            )
            raise TrainingInterrupted(
                f"diffusion training was interrupted after {done} of {self.n_epochs_} epochs. "
                f"{resume}",
                estimator=self,
            )

    def _record_params_at_fit(self):
        """Keep the parameters the denoiser was built from: a weights file stores these
        (see :mod:`semgaug_sk.persistence`), whatever ``set_params`` changes later."""
        self._params_at_fit = {p: getattr(self, p) for p in _ARCHITECTURE_PARAMS}

    def _checkpoint_folder(self, X, cond, seed):
        """This fit's checkpoint folder (created), or None without ``checkpoint_dir``.

        ``seed``: the fit's seed. With ``random_state=None`` each fit draws its own, so it
        names the folder: an unseeded fit must not reload another unseeded fit's weights.
        """
        if self.checkpoint_dir is None:
            return None
        unused = set(RUNTIME_PARAMS) | set(GENERATION_PARAMS)
        params = {
            k: param_digest(v)
            for k, v in fingerprint_params(self.get_params(), self._patch_size_for(X)).items()
            if k not in unused
        }
        if self.random_state is None:
            params["random_state"] = param_digest(int(seed))
        params["library"] = __version__  # another release may train differently
        if cond.ndim == 2:
            params["conditions"] = hashlib.sha256(np.ascontiguousarray(cond)).hexdigest()
            cond = np.zeros(len(cond), dtype=np.int64)
        return fit_folder(self.checkpoint_dir, "diffusion", X, cond, params, "DiffusionGenerator")

    def _patch_size_for(self, X):
        """The patch size a fit on windows ``X`` folds them into (see ``max_length``)."""
        return patch_size_of(self.get_params(deep=False), X)

    def _build_denoiser(self):
        if self.cond_dim_ is not None:
            conditioner = SemanticConditioner(
                self.cond_dim_, self.n_cond_tokens, self.cond_token_dim
            )
        else:
            conditioner = LabelConditioner(self.n_classes_, self.n_cond_tokens, self.cond_token_dim)
        unet = ConditionalUNet1d(
            self.n_channels_,
            self.n_times_,
            self.cond_token_dim,
            base_channels=self.base_channels,
            channel_mults=tuple(self.channel_mults),
            min_length=self.min_length,
            patch_size=getattr(self, "patch_size_", 1),  # 1: fitted before folding existed
        )
        denoiser = ConditionalDenoiser(unet, conditioner)
        if getattr(self, "_init", None) is not None:
            denoiser.load_state_dict(self._init.net_.ema_module_.state_dict())
        return denoiser

    # -- sampling ----------------------------------------------------------------------------
    def _check_trained_settings(self):
        """Refuse to sample after ``set_params`` changed what the network was trained for."""
        trained = getattr(self, "trained_settings_", None)  # None: fitted before it existed
        if trained is None:
            return
        changed = [p for p in _TRAINED_SETTINGS if getattr(self, p) != trained[p]]
        if changed:
            listed = ", ".join(
                f"{p}={getattr(self, p)!r} (fitted: {trained[p]!r})" for p in changed
            )
            raise ValueError(
                f"{type(self).__name__}: {listed} changed since fit; the network was trained "
                "for the fitted values, so sampling with these would misread it. Set them back, "
                "or fit again."
            )

    def _torch_generator(self, random_state):
        if isinstance(random_state, torch.Generator):
            return random_state
        if random_state is None:
            random_state = int(self._sampling_rng.integers(0, 2**31 - 1))
        seed = check_random_state_seed(random_state)
        if not 0 <= seed <= 2**32 - 1:
            raise ValueError(
                f"{type(self).__name__}.sample: random_state must be in [0, 2**32 - 1], as at "
                f"fit, or a (CPU) torch.Generator; got {random_state!r}."
            )
        return torch.Generator().manual_seed(seed)

    def sample_batches(
        self,
        conditions,
        *,
        random_state=None,
        desc="SASG generate",
        show_progress=None,
        start_windows=None,
        strength=1.0,
        warn=True,
    ):
        """Yield ``(start, stop, windows)``: de-normalised generated windows, one batch at a time.

        Only one batch of ``generate_batch_size`` windows exists at a time, so
        memory beyond the caller's output is bounded by the batch size.

        Parameters
        ----------
        conditions : ndarray of shape (n,) of int or (n, cond_dim_) of float
            Model-space conditions, as at fit.
        random_state : None, int or torch.Generator, default=None
            Noise of the sampler: a torch Generator is advanced in place (several
            calls continue one stream); None draws a seed from the fitted state.
        desc : str, default="SASG generate"
            Label of the progress bar (``verbose >= 1``).
        show_progress : bool or None, default=None
            Show the bar; None follows ``verbose``. A caller that shows its own
            bar passes False (nothing in the fitted generator changes).
        start_windows : ndarray of shape (n, n_channels_, n_times_) or callable, optional
            Windows in the data's scale, one per condition: each trajectory starts
            from its window noised to the timestep ``strength * (n_timesteps - 1)``
            and denoised from there under its condition (SDEdit) instead of from pure
            noise. A callable ``start_windows(start, stop)`` returns the windows of
            rows ``start:stop``, so that only one batch of them need exist at a time.
        strength : float in (0, 1], default=1.0
            Where the trajectory starts, as a fraction of the schedule
            (:func:`~semgaug_sk.augmentation.diffusion.ddim_timesteps`), with
            ``min(n_sampling_steps, t0 + 1)`` passes from the start timestep ``t0``
            down to 0. Below 1 it needs ``start_windows``, and
            ``start_windows`` needs it below 1. Small values keep the start windows
            nearly as they are, unless the condition says otherwise: a generator that
            reads its training windows back from their exact conditions (see
            ``cond_noise``) moves a start window to what its condition decodes to.
        warn : bool, default=True
            Warn about a setting the model cannot honour (``n_sampling_steps`` above
            ``n_timesteps``). A caller that draws twice for one user call (a
            calibration draw, then the windows) passes False to one of them.

        Yields
        ------
        start, stop : int
            Rows of ``conditions`` the batch belongs to.
        windows : ndarray of shape (stop - start, n_channels_, n_times_)

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 8)).astype("float32")
        >>> gen = DiffusionGenerator(n_steps=1, base_channels=4, channel_mults=(1,),
        ...     n_sampling_steps=1, generate_batch_size=3, random_state=0).fit(X, np.zeros(8, int))
        >>> [(a, b) for a, b, _ in gen.sample_batches(np.zeros(5, int))]
        [(0, 3), (3, 5)]
        """
        check_is_fitted(self, "net_")
        self._check_trained_settings()
        cond = self._checked_sample_conditions(conditions)
        generator = self._torch_generator(random_state)
        device = self._sampling_device()
        module = self.net_.ema_module_.to(device).eval()
        alpha_bar = cosine_alpha_bar(self.n_timesteps, device=device)
        n = len(cond)
        shape = (self.n_channels_, self.n_times_)
        self._validate_params()
        if warn and self.n_sampling_steps > self.n_timesteps:
            warnings.warn(
                f"n_sampling_steps={self.n_sampling_steps} exceeds the {self.n_timesteps} "
                f"timesteps the model was trained on (n_timesteps), so sampling takes "
                f"{self.n_timesteps} steps: larger values give the same windows.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        check_sampler(self.sampler, self.eta, type(self).__name__)
        check_guidance(self.guidance_scale, self.cond_drop_prob, type(self).__name__)
        who = f"{type(self).__name__}.sample_batches"
        check_strength(strength, who)
        if start_windows is None and strength != 1.0:
            raise ValueError(
                f"{who}: strength={strength!r} < 1 starts from noised start windows; pass "
                "start_windows= (one window per condition), or strength=1.0."
            )
        if start_windows is not None and strength == 1.0:
            raise ValueError(
                f"{who}: strength=1.0 starts from the last timestep, where the start "
                "windows are lost in the noise; pass strength < 1 (e.g. 0.5) with "
                "start_windows=, or drop start_windows."
            )
        if start_windows is not None and not callable(start_windows):
            start_windows = self._checked_init(start_windows, n)
        if self.sampler == "ddim":
            sample_windows, solver_options = ddim_sample, {"eta": self.eta}
        else:
            sample_windows, solver_options = dpmpp_2m_sample, {}
        starts = range(0, n, self.generate_batch_size)
        show = bool(self.verbose) if show_progress is None else bool(show_progress)
        for start in progress(starts, desc=desc, unit="batches", disable=not show):
            stop = min(start + self.generate_batch_size, n)
            c = torch.as_tensor(cond[start:stop]).to(device)
            if start_windows is not None:
                batch = (
                    self._checked_init(start_windows(start, stop), stop - start)
                    if callable(start_windows)
                    else start_windows[start:stop]
                )
                solver_options["init"] = torch.from_numpy(normalise(batch, self)).to(device)
                solver_options["strength"] = float(strength)
            with torch.inference_mode():
                x0 = sample_windows(
                    _x0_function(module, c, self.guidance_scale, alpha_bar, self.prediction),
                    (stop - start, *shape),
                    alpha_bar,
                    n_steps=self.n_sampling_steps,
                    spacing=self.timestep_spacing,
                    clip=self.x0_range_ if self.prediction == "eps" else None,
                    generator=generator,
                    device=device,
                    **solver_options,
                )
            windows = denormalise(to_numpy(x0).astype(np.float64), self)
            yield start, stop, windows.astype(self.dtype_, copy=False)

    def sample(self, conditions, *, random_state=None, out=None):
        """Windows for model-space ``conditions``, denoised in batches.

        Parameters
        ----------
        conditions : ndarray of shape (n,) of int or (n, cond_dim_) of float
        random_state : None, int or torch.Generator, default=None
            See :meth:`sample_batches`.
        out : ndarray of shape (>= n, n_channels_, n_times_), optional
            Written in place (saves a copy of the output).

        Returns
        -------
        windows : ndarray of shape (n, n_channels_, n_times_)

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 8)).astype("float32")
        >>> gen = DiffusionGenerator(n_steps=1, base_channels=4, channel_mults=(1,),
        ...     n_sampling_steps=1, random_state=0).fit(X, np.zeros((8, 3)))
        >>> gen.sample(np.zeros((4, 3)), random_state=0).shape
        (4, 1, 8)
        """
        check_is_fitted(self, "net_")
        if np.ndim(conditions) == 0:
            raise ValueError(
                "DiffusionGenerator.sample: conditions must be an array of class codes (n,) or "
                f"of condition vectors (n, d); got the scalar {conditions!r}. Pass e.g. [code]."
            )
        n = len(conditions)
        shape = (self.n_channels_, self.n_times_)
        if out is None:
            out = np.empty((n, *shape), dtype=self.dtype_)
        elif (
            np.ndim(out) != 3
            or out.shape[1:] != shape
            or len(out) < n
            or np.asarray(out).dtype.kind != "f"
        ):
            raise ValueError(
                f"DiffusionGenerator.sample: out must be a float array of shape (>= {n}, "
                f"{shape[0]}, {shape[1]}) for {n} conditions; got {np.shape(out)} "
                f"{getattr(out, 'dtype', '')}. Pass out=None to allocate it."
            )
        for start, stop, windows in self.sample_batches(conditions, random_state=random_state):
            out[start:stop] = windows
        return out[:n]

    def _checked_init(self, windows, n):
        """Start windows of the fitted shape, one per condition, finite; or a clear error."""
        who = f"{type(self).__name__}.sample_batches"
        windows = np.asarray(windows)
        shape = (n, self.n_channels_, self.n_times_)
        if windows.shape != shape:
            raise ValueError(
                f"{who}: start_windows must hold one window per condition, of shape {shape}; "
                f"got {windows.shape}."
            )
        if windows.dtype.kind not in "iuf" or not np.isfinite(windows).all():
            raise ValueError(f"{who}: start_windows must be finite real windows (no NaN or inf).")
        return windows

    def _checked_sample_conditions(self, conditions):
        """Conditions of the kind and range the generator was fitted on, or a clear error."""
        cond = np.asarray(conditions)
        who = "DiffusionGenerator.sample"
        if self.cond_dim_ is None:  # class codes
            if cond.ndim != 1:
                raise ValueError(
                    f"{who}: the generator was fitted on class codes, so conditions must be a "
                    f"1-D array of codes 0..{self.n_classes_ - 1}; got shape {cond.shape}."
                )
            codes = _integer_codes(cond, who)
            bad = np.unique(codes[(codes < 0) | (codes >= self.n_classes_)])
            if len(bad):
                raise ValueError(
                    f"{who}: class codes {bad.tolist()} are outside 0..{self.n_classes_ - 1}, "
                    "the codes seen at fit."
                )
            return codes
        if cond.ndim != 2 or cond.shape[1] != self.cond_dim_ or cond.dtype.kind not in "biuf":
            raise ValueError(
                f"{who}: the generator was fitted on condition vectors of length "
                f"{self.cond_dim_}, so conditions must be a real array of shape "
                f"(n, {self.cond_dim_}); got shape {cond.shape} and dtype {cond.dtype}."
            )
        with np.errstate(over="ignore"):  # refused just below, with its own message
            cond = cond.astype(np.float32)
        if not np.isfinite(cond).all():  # after the cast: 1e39 is finite in float64 only
            raise ValueError(
                f"{who}: conditions contain NaN or inf, or values beyond float32's range "
                "(~3.4e38); pass finite vectors of the fitted scale."
            )
        return cond

    def _sampling_device(self):
        if self.accelerator is not None:
            return accelerator_device(self.accelerator)
        return resolve_device(self.device)

    # -- persistence -------------------------------------------------------------------------
    def _get_weights_state(self):
        """Fitted state as tensors and plain data (see :mod:`semgaug_sk.persistence`)."""
        return {**fitted_attributes(self), "net_": diffusion_net_weights(self.net_)}

    def _set_weights_state(self, state, *, device):
        """Rebuild the fitted generator from :meth:`_get_weights_state`'s output on ``device``."""
        state = dict(state)
        weights = state.pop("net_")
        vars(self).update(state)
        self.net_ = load_diffusion_net(self, weights, device=device)

    def __setstate__(self, state):
        # pickled before prediction, sampler, timestep_spacing or max_length existed (no
        # folding then)
        old = {
            "prediction": "x0",
            "sampler": "ddim",
            "timestep_spacing": "uniform",
            "cond_noise": 0.0,
            "max_length": None,
        }
        state = {**old, **state}
        super().__setstate__(cpu_fallback_state(state, type(self).__name__, owner=self))
