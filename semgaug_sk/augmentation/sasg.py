"""SASGAugmenter: semantic-aware, sparse-guided diffusion augmentation (SASG-DA).

Liu et al., SASG-DA (arXiv 2511.08344; IEEE JBHI 2026). The sampler composes
the method's parts:

1. a :class:`~semgaug_sk.encoders.SemanticEncoder` trained on the real windows
   (SRG: its embedding is the condition);
2. a :class:`~semgaug_sk.augmentation.generator.DiffusionGenerator`, the
   conditional diffusion model that turns conditions into windows;
3. a condition sampler, :class:`~semgaug_sk.augmentation.condition_sampling.GMSS`
   or :class:`~semgaug_sk.augmentation.condition_sampling.SASS`, that draws new
   conditions per class;
4. for SASS, the confidence filter
   (:func:`~semgaug_sk.augmentation.filtering.sass_generate`).
"""

from __future__ import annotations

import inspect
import numbers
import os
import pickle
from collections import OrderedDict

import joblib
import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from ..encoders import SemanticEncoder
from ..utils.shared_params import SharedSubEstimatorParamsMixin
from ..utils.torch_utils import CPUFallbackOwner, cpu_fallback_state, resolve_device
from ..utils.training import TrainingInterrupted
from ..utils.validation import check_random_state_seed, sub_seeds
from .base import BaseWindowSampler
from .calibration import CALIBRATION_MODES, apply_gains, calibration_gains, class_statistics
from .checkpoint import end_fit_folder, fit_folder, param_digest
from .condition_sampling import GMSS, SASS
from .filtering import sass_generate
from .generator import DiffusionGenerator
from .generator_settings import (
    GENERATION_PARAMS,
    check_generator_settings,
    check_guidance,
    check_sampler,
    fingerprint_params,
    patch_size_of,
)
from .nets import DiffusionNet, EMACallback
from .normalisation import nonnegative_mode
from .quantization import QUANTIZE_CONSTRAINT
from .semantic import embed, fit_semantic_encoder

__all__ = ["SASGAugmenter", "DiffusionNet", "EMACallback"]

#: The generator's parameters that SASGAugmenter takes flat and forwards.
_GENERATOR_PARAMS = tuple(p for p in DiffusionGenerator._get_param_names() if p != "random_state")
_SAMPLERS = {"gmss": GMSS, "sass": SASS}
#: Generator parameters that a prior fixes: its network's shape, its schedule and target,
#: and the data space it was trained in. Fine-tuning keeps the sampler's others.
PRIOR_ARCHITECTURE = (
    "base_channels",
    "channel_mults",
    "min_length",
    "max_length",
    "n_cond_tokens",
    "cond_token_dim",
    "n_timesteps",
    "prediction",
    "nonnegative",
)


class SASGAugmenter(SharedSubEstimatorParamsMixin, CPUFallbackOwner, BaseWindowSampler):
    """Semantic-guided diffusion augmentation of sEMG windows (SASG-DA).

    An imbalanced-learn sampler on 3-D windows: ``fit_resample(X, y)`` returns
    the real windows first and unchanged, then the synthetic ones;
    ``generate(n_per_class)`` returns synthetic windows only. ``fit`` trains the
    encoder, fits the condition sampler on its embeddings and trains a
    :class:`~semgaug_sk.augmentation.generator.DiffusionGenerator` on them (or
    on the class codes). Parameters that only shape generation can be changed
    with ``set_params`` after fitting.

    Parameters
    ----------
    encoder : None or SemanticEncoder-like, default=None
        None builds a default :class:`~semgaug_sk.encoders.SemanticEncoder`;
        an estimator with ``fit``, ``transform`` and ``predict_proba`` is cloned
        and fitted on the training windows (no leak in cross-validation).
    condition : {"semantic", "label"}, default="semantic"
        The encoder embedding (SRG), or a learned class embedding (the baseline).
    sampling : {"sass", "gmss"}, GMSS, SASS or estimator, default="sass"
        Condition sampler (semantic only); the strings stand for ``SASS()``
        and ``GMSS()``. SASS is the paper's method; the filter applies to it.
        Any other scikit-learn estimator with ``fit(embeddings, y)`` and
        ``sample(n_per_class, random_state)`` returning ``(conditions, labels)``
        works as GMSS does (checked at fit, before any training).
    ratio : float, default=2.0
        Synthetic windows per real window of each class: SASG-DA's paper's 2 : 1
        mix. A rule fixed in advance (``benchmarks/ablate_ratio.py``, inner
        splits of the training repetitions of DB1, Myo and UCI) keeps 2 unless a
        smaller ratio costs LDA no more on every data set; on the corrected
        (purged) Myo split none does, by margins inside the seed spread, and on
        the time-cut split (``--inner-split time``) the rule again keeps 2. A smaller
        ratio costs feature-based LDA less on DB1 (``ratio=0.5``: -0.5 against
        -1.6 points) and generates a quarter of the windows.
    sampling_strategy : None, str, dict or callable, default=None
        imbalanced-learn over-sampling strategy; overrides ``ratio``.
    refit_encoder : bool, default=True
        False uses ``encoder`` as already fitted (it must know every class). Inside
        ``GridSearchCV`` or ``cross_validate``, which clone the sampler and so unfit the
        encoder, pass ``encoder=sklearn.frozen.FrozenEstimator(fitted_encoder)``.
    prior : None, fitted PopulationPrior, str or path-like, default=None
        Adapt a population prior (:class:`~semgaug_sk.augmentation.prior.PopulationPrior`,
        or the path of its :func:`~semgaug_sk.persistence.save_weights` file) instead
        of training from scratch: the prior's encoder is fine-tuned on the windows
        (``encoder`` may set the fine-tuning, e.g. fewer ``max_epochs``), the
        conditions are the windows' embeddings in the prior's condition space, and
        the prior's generator is fine-tuned for ``adapt_steps`` steps with this
        sampler's training settings (``lr``, ``batch_size``, ``weight_decay``,
        ``ema_decay``, ``cond_drop_prob``, ``fourier_weight``; ``cond_noise`` when
        not None, else the prior's, so that a condition keeps naming the neighbourhood
        it was pretrained to name). The prior fixes
        the parameters in ``PRIOR_ARCHITECTURE`` (network shape, schedule,
        prediction target, ``nonnegative``); setting one of them to another
        non-default value is an error, and so is a non-default ``n_steps`` (the
        prior is fine-tuned for ``adapt_steps``). Needs ``condition="semantic"``,
        ``refit_encoder=True`` and ``checkpoint_dir=None``, the prior's channels
        and window length, classes among the prior's, and windows of the prior's
        kind (signed EMG or a non-negative envelope). A fitted prior is shared by
        ``clone``, so ``set_params(prior__...)`` is refused: pass another prior.
        Samplers given one file share one loaded prior while it is in use; the
        fitted sampler's pickle and weights file carry the prior (several MB).
    adapt_steps : int, default=75
        Generator fine-tuning steps with a ``prior``: the generator sees 75 batches
        of ``batch_size`` (256 by default), as many windows as the 300
        batches of 64 of earlier versions. A target set smaller than a batch is
        seen in full-pass steps, more of them, so the windows seen stay the same.
        Fewer steps keep more of the population in the windows, more steps bring
        the generator towards one trained on the target alone. On an inner split
        of the training repetitions of DB1, Myo and UCI
        (``benchmarks/ablate_adapt.py``, 5 subjects x 3 seeds) 10 and 300 steps
        scored 0.4 and 0.3 points below 75 with LDA, STC and the
        transfer-learning network downstream, inside the seed spread; 10 steps
        left Myo windows 7% too strong and 300 took 3-4x longer. One step, close
        to adapting by conditioning alone, left DB1 windows 25% too weak and Myo
        windows 28% too strong (-0.55 points). Those runs predate 28272e8: the
        generator refitted its normalisation on the target's raw windows instead
        of adapting in the prior's data space. Rerun on Myo since (all four
        lengths), 75 stays: one step is right on average (RMS ratio 0.99) but
        ranges 0.61-1.48 between runs (75 steps: 0.90-1.07).
    fs : None or float, default=None
        Sampling rate (Hz) of the windows, checked against the prior's when both
        are known.
    base_channels, channel_mults, min_length, max_length, n_cond_tokens, cond_token_dim, \
n_timesteps, prediction, n_steps, batch_size, lr, weight_decay, ema_decay, cond_drop_prob, \
fourier_weight, n_sampling_steps, sampler, timestep_spacing, eta, guidance_scale, nonnegative, \
generate_batch_size, device, checkpoint_dir, checkpoint_every, accelerator
        Parameters of the :class:`~semgaug_sk.augmentation.generator.DiffusionGenerator`
        built at fit, with its defaults and their reasons; ``device`` and
        ``accelerator`` also serve the default encoder. With ``checkpoint_dir``,
        a sub-folder ``sasg-<fingerprint>`` keeps the encoder and the generator's
        checkpoints, so fitting again resumes. ``generate_batch_size`` bounds the
        memory of generation and also sets how its noise and SASS's blocks are
        drawn: the same seed gives the same windows at the same batch size.
    cond_noise : None or float, default=None
        The generator's conditioning augmentation (``DiffusionGenerator``'s
        ``cond_noise``): None is 0, or with a ``prior`` the prior's own value; 0
        asks for none, also with a prior. A one-change ablation on the clean time
        split (``benchmarks/ablate_cond_noise.py``) kept 0: more noise gives DB1's
        synthetic windows variety, but their class means drift further and LDA loses
        more.
    quantize : "auto", float or None, default="auto"
        Round the synthetic windows onto the amplitude grid of the real ones
        (``"auto"``: the grid detected at fit, if the data have one, and the
        integers at least for windows given with an integer dtype; a number: a
        step through 0; None: keep them continuous). Digitised recordings have
        runs of equal samples that continuous synthetic values lack; see
        :mod:`~semgaug_sk.augmentation.quantization`.
    calibration : None, "std", "spectrum" or "level", default=None
        Correct the within-window variation (and with ``"level"`` the amplitude)
        of the synthetic windows, per class and channel, towards the real
        windows' (see :mod:`~semgaug_sk.augmentation.calibration`): ``"std"``
        scales each window's deviation from its own mean by one gain per class
        and channel, ``"spectrum"`` by one gain per frequency bin as well, and
        ``"level"`` applies the ``"std"`` gain plus one gain per class and
        channel on each window's mean, which matches the class's mean absolute
        window mean (on an envelope, its mean amplitude). The gains compare
        the real windows seen at fit with a draw of
        ``CALIBRATION_WINDOWS`` (128) synthetic windows per class, made on the
        first generation with the current generation settings (from its own seed,
        so the output does not depend on when it is made; it costs as much as
        generating that many windows, once per setting). Except with ``"level"``
        each window keeps its mean; a non-negative signal stays non-negative, and
        an amplitude grid's rounding noise is allowed for. Applied before the confidence filter and
        the quantisation, so the filter judges the windows returned. None leaves
        the generator's windows as they are. In a one-change ablation on inner
        splits of DB1 and Myo (``benchmarks/ablate_calibration.py``, 3 subjects x
        3 seeds) ``"std"`` and ``"spectrum"`` put every Myo class's RMS and std
        within 10% of the real windows' (half of them without) and moved LDA and
        STC accuracy by less than the seed spread, so the default stays None.
        ``"level"`` (``benchmarks/ablate_calibration_level.py``, clean time
        split, 5 subjects x 3 seeds per data set) puts 71% of DB1's classes in
        that band (16% without) and DB1's RMS ratio at 1.005, with a mean gain of
        +0.4 points against a seed sd of 1.5: the default stays None.
    confidence_threshold : float, default=0.5
        SASS keeps a window whose intended class gets at least this probability:
        above 0.5 no other class can be ahead of it (at exactly 0.5 one can tie),
        while windows near a boundary, where SASS pushes, pass. 0 disables the
        filter, which cost STC 1.3 points on DB1 in a one-change ablation
        (``benchmarks/ablate_confidence.py``, inner split by repetition), but
        not on a split of the first repetition in time (without it: +0.2, seed sd
        1.5); 0.8 changed nothing.
    max_rounds : int, default=5
        SASS generation rounds per call (the first plus top-ups).
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the encoder, the generator and the conditions get
        independent sub-seeds. The same int gives identical output on CPU with
        the same number of torch threads (``torch.get_num_threads()``): the
        order of the sums in a multi-threaded kernel moves the float32 results.
    verbose : int, default=0
        1: progress bars; 2: also skorch's per-epoch logs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Classes seen at fit.
    sampling_strategy_ : OrderedDict
        Synthetic windows per class that ``fit_resample`` generates.
    n_windows_fit_, n_channels_, n_times_ : int
        Shape of the training windows.
    n_features_in_ : int
        ``n_channels_ * n_times_``, as scikit-learn counts a window's values.
    dtype_ : numpy.dtype
        Float dtype of the validated training windows (integer codes are read as
        float32); synthetic windows are made in it.
    quantization_ : tuple of float or None
        ``(offset, step)`` of the amplitude grid synthetic windows are rounded to
        (see ``quantize``), or None.
    quantization_levels_ : ndarray or None
        The grid values the training windows use, when ``quantize="auto"`` found a grid.
    generator_fitted_ : bool
        Whether the last fit trained the generator (``fit_resample`` with nothing to
        generate does not); ``generate`` needs it.
    integer_range_ : tuple of int or None
        ``(lowest, highest)`` of the integer dtype the training windows were given in
        (ADC codes); synthetic windows are clipped to it, as the device saturates and a
        cast back to that dtype must not wrap round. None for float windows.
    encoder_, embedding_dim_ : SemanticEncoder, int or None
        The fitted encoder and its embedding size (None for ``condition="label"``).
    train_embeddings_ : ndarray of shape (n_windows, embedding_dim_) or None
        Encoder embeddings of the training windows.
    cond_mean_, cond_scale_ : ndarray of shape (n_dims,) or None
        Standardisation of embeddings into the generator's conditions (None for
        ``condition="label"``).
    sampler_ : GMSS or SASS or None
        The fitted condition sampler (refitted when ``sampling`` changes).
    generator_ : DiffusionGenerator
        The trained generator. ``diffusion_`` (its net), ``n_train_steps_``,
        ``n_unet_levels_`` and ``resumed_steps_`` read through to it.
    training_interrupted_ : bool
        Whether the diffusion training was interrupted (``fit`` then raised
        :class:`~semgaug_sk.utils.training.TrainingInterrupted`; usable anyway).
    checkpoint_path_ : str or None
        This fit's checkpoint folder.
    last_conditions_, last_condition_labels_ : ndarray or None
        Conditions (None for labels) and labels of the last generated windows.
    last_acceptance_ : dict
        SASS: ``{class: fraction of generated windows that passed the filter}``
        in the last generation; empty otherwise.
    last_shortfall_ : dict
        SASS: ``{class: windows missing}`` after the last generation's rounds
        (0 when complete); empty otherwise.
    real_power_ : ndarray of shape (n_classes, n_channels, n_times // 2 + 1)
        Mean power spectrum of the training windows per class and channel, which
        ``calibration`` matches.
    real_level_ : ndarray of shape (n_classes, n_channels)
        Mean absolute window mean of the training windows per class and channel,
        which ``calibration="level"`` matches.
    calibration_gains_ : ndarray of shape (n_classes, n_channels, n_times // 2 + 1) or None
        The gains applied by the last generation (None without ``calibration``).

    Examples
    --------
    >>> from semgaug_sk.encoders import SemanticEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 16)).astype("float32"); y = np.repeat([0, 1], 20)
    >>> aug = SASGAugmenter(
    ...     encoder=SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2),
    ...     sampling=SASS(epsilon=0.3), n_steps=5, base_channels=8, channel_mults=(1,),
    ...     n_sampling_steps=3, confidence_threshold=0.0, random_state=0)
    >>> X_res, y_res = aug.fit_resample(X, y)
    >>> X_res.shape, bool((X_res[:40] == X).all()), sum(aug.last_shortfall_.values())
    ((120, 2, 16), True, 0)
    """

    _shared_sub_estimators = ("prior",)  # a fitted prior is shared by clone

    _decided_at_fit = ("quantize", "condition")
    _generation_streams = ("_generation_rng",)
    _parameter_constraints: dict = {
        **BaseWindowSampler._parameter_constraints,
        **DiffusionGenerator._parameter_constraints,
        "encoder": [None, HasMethods(["fit", "transform", "predict_proba"])],
        "condition": [StrOptions({"semantic", "label"})],
        "sampling": [StrOptions(set(_SAMPLERS)), HasMethods(["fit", "sample"])],
        "refit_encoder": ["boolean"],
        "quantize": QUANTIZE_CONSTRAINT,
        "prior": [None, str, os.PathLike, HasMethods(["check_target", "fit"])],
        "adapt_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "fs": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "confidence_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "calibration": [None, StrOptions(set(CALIBRATION_MODES))],
        "max_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "cond_noise": [None, Interval(numbers.Real, 0, None, closed="left")],
    }

    #: Parameters that only shape generation: changing them needs no refit, and
    #: they do not name a fit's checkpoint folder.
    _generation_params = (
        "ratio",
        "sampling_strategy",
        "sampling",
        *GENERATION_PARAMS,
        "calibration",
        "confidence_threshold",
        "max_rounds",
    )

    #: Synthetic windows per class drawn to estimate the calibration gains.
    CALIBRATION_WINDOWS = 128
    #: Values per chunk of the real windows' power spectra at fit (float64 and complex
    #: copies of a chunk are made).
    _POWER_CHUNK_VALUES = 2**22

    def __init__(
        self,
        encoder=None,
        *,
        condition="semantic",
        sampling="sass",
        ratio=2.0,
        sampling_strategy=None,
        refit_encoder=True,
        prior=None,
        adapt_steps=75,
        fs=None,
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
        cond_noise=None,
        fourier_weight=0.1,
        n_sampling_steps=10,
        sampler="dpmpp_2m",
        timestep_spacing="uniform",
        eta=0.0,
        guidance_scale=1.0,
        nonnegative="auto",
        generate_batch_size=512,
        quantize="auto",
        calibration=None,
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
        self.prior = prior
        self.adapt_steps = adapt_steps
        self.fs = fs
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
        self.confidence_threshold = confidence_threshold
        self.quantize = quantize
        self.calibration = calibration
        self.max_rounds = max_rounds
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.accelerator = accelerator
        self.verbose = verbose

    diffusion_ = property(
        lambda self: self.generator_.net_,
        doc="The trained :class:`~semgaug_sk.augmentation.nets.DiffusionNet` (``generator_.net_``).",
    )
    n_train_steps_ = property(lambda self: self.generator_.n_train_steps_, doc="``generator_``'s.")
    n_unet_levels_ = property(lambda self: self.generator_.n_unet_levels_, doc="``generator_``'s.")
    resumed_steps_ = property(lambda self: self.generator_.resumed_steps_, doc="``generator_``'s.")

    # -- fit ---------------------------------------------------------------------------------
    def _check_untrained_fit(self, X, y):
        # a prior that does not fit these windows is refused at a ratio=0 point too
        self._checked_prior(X, y)

    def _check_settings(self, X):
        # at fit, also when ratio=0 trains nothing: a grid's ratio=0 point hides no typo
        if isinstance(self.encoder, type):
            raise TypeError(
                f"SASGAugmenter: encoder is the class {self.encoder.__name__}, not an instance; "
                f"pass encoder={self.encoder.__name__}(...)."
            )
        check_generator_settings(self.get_params(deep=False), X, "SASGAugmenter")
        if self.accelerator is None:  # a device this machine lacks, before the encoder trains
            resolve_device(self.device)
        if not isinstance(self.sampling, str):
            _check_custom_sampling(self.sampling)
            # its own parameters too, before the encoder trains (GMSS.fit would find them)
            if hasattr(self.sampling, "_parameter_constraints"):
                clone(self.sampling)._validate_params()
        if self.prior is not None and not isinstance(self.encoder, (type(None), SemanticEncoder)):
            raise TypeError(
                "SASGAugmenter: with a prior, the encoder is the prior's network fine-tuned on "
                "these windows, so encoder must be None or a SemanticEncoder; got "
                f"{type(self.encoder).__name__}. Drop encoder=, or pass an unfitted "
                "SemanticEncoder."
            )

    def _fit(self, X, y):
        if X.shape[2] < 2:  # the diffusion generator's own minimum, named as this sampler's
            raise ValueError(
                f"SASGAugmenter: X windows have {X.shape[2]} sample(s), and the diffusion "
                "generator needs at least 2. Cut longer windows (window_ms in sliding_windows)."
            )
        guided_by_default = self.encoder is None or isinstance(self.encoder, SemanticEncoder)
        shortest = SemanticEncoder._min_times
        if self.condition == "semantic" and guided_by_default and X.shape[2] < shortest:
            raise ValueError(
                f"SASGAugmenter: X windows have {X.shape[2]} sample(s), and the semantic guide "
                f"(a SemanticEncoder) needs at least {shortest}. Cut longer "
                "windows (window_ms in sliding_windows), or pass condition='label'."
            )
        seed = check_random_state_seed(self.random_state)
        enc_seed, diff_seed, gen_seed = sub_seeds(seed, 3)
        prior = self._checked_prior(X, y)
        self._train_codes = np.unique(y, return_inverse=True)[1].ravel().astype(np.int64)
        self.checkpoint_path_ = self._checkpoint_folder(X, y)
        earlier = getattr(self, "generator_", None)  # a failed refit keeps it, untouched
        try:
            return self._fit_networks(X, y, prior, enc_seed, diff_seed, gen_seed)
        finally:  # also when training fails: a lock left behind would keep others out
            if self.checkpoint_path_ is not None:
                self.checkpoint_path_ = end_fit_folder(self.checkpoint_path_)
                made = getattr(self, "generator_", None)
                if self.checkpoint_path_ is None and made is not None and made is not earlier:
                    made.checkpoint_path_ = None  # it lay in the deleted folder

    def _fit_networks(self, X, y, prior, enc_seed, diff_seed, gen_seed):
        """Train the encoder (or take the labels) and the generator, in ``checkpoint_path_``."""
        if self.condition == "semantic":
            self._fit_semantic(X, y, enc_seed, prior)
            cond = ((self.train_embeddings_ - self.cond_mean_) / self.cond_scale_).astype(
                np.float32
            )
        else:
            self.encoder_ = self.embedding_dim_ = self.train_embeddings_ = self.sampler_ = None
            self.cond_mean_ = self.cond_scale_ = self._encoder_columns = None
            cond = self._train_codes
        params = {p: getattr(self, p) for p in _GENERATOR_PARAMS}
        params["checkpoint_dir"] = self.checkpoint_path_
        if prior is not None:  # the prior's architecture, fine-tuned for adapt_steps
            params.update({p: prior.generator_.get_params()[p] for p in PRIOR_ARCHITECTURE})
            params["n_steps"] = self.adapt_steps
        params["cond_noise"] = self._resolved_cond_noise(prior)
        self.generator_ = DiffusionGenerator(**params, random_state=diff_seed)
        init = None if prior is None else prior.generator_
        self._generation_rng = np.random.default_rng(gen_seed)
        self._calibration_seed = gen_seed
        self._calibration_power = None
        self.calibration_gains_ = None
        self.real_power_, self.real_level_ = self._real_statistics(X)
        self.last_conditions_ = self.last_condition_labels_ = None
        self.last_acceptance_, self.last_shortfall_ = {}, {}
        self.training_interrupted_ = False
        try:
            # with a prior, in the data space it learned: X at the scale the adapted
            # encoder divides it by (prior.target_scale), as the prior's subjects were
            gain = None if prior is None else self.encoder_.subject_scale_
            self.generator_.fit(X, cond, init=init, init_gain=gain)
        except TrainingInterrupted as exc:
            if exc.estimator is not self.generator_:
                raise
            self.training_interrupted_ = True
            raise TrainingInterrupted(
                f"SASGAugmenter: {exc} The sampler is usable with the weights learned so far "
                "(training_interrupted_=True).",
                estimator=self,
            ) from exc
        return self

    def _resolved_cond_noise(self, prior):
        """``cond_noise``, or with None the prior's (a condition keeps naming the
        neighbourhood it was pretrained to name), or 0 without a prior."""
        if self.cond_noise is not None:
            return self.cond_noise
        if prior is None:
            return 0.0
        return prior.generator_.get_params().get("cond_noise", 0.0)

    def _keeps_nonnegative(self):
        return getattr(self.generator_, "nonnegative_", "none") in ("clip", "log")

    # -- calibration -------------------------------------------------------------------------
    def _real_statistics(self, X):
        """Mean power spectra and mean absolute window means of the training windows per
        class (float64; :func:`~semgaug_sk.augmentation.calibration.class_statistics`).

        Runs at every fit, so it goes through the windows in chunks of about
        ``_POWER_CHUNK_VALUES`` values: its transient memory stays near 100 MB
        whatever the data's size (or one window's copies, for a window larger
        than a chunk).
        """
        step = max(1, self._POWER_CHUNK_VALUES // (X.shape[1] * X.shape[2]))
        batches = (
            (X[at : at + step], self._train_codes[at : at + step]) for at in range(0, len(X), step)
        )
        power, level, _ = class_statistics(batches, len(self.classes_))
        return power, level

    def _codes_of(self, labels):
        """Class codes (rows of ``classes_``) of a condition sampler's labels."""
        labels = np.asarray(labels)
        unknown = ~np.isin(labels, self.classes_)
        if unknown.any():
            raise ValueError(
                f"SASGAugmenter: the condition sampler returned label(s) "
                f"{np.unique(labels[unknown]).tolist()[:5]} that were not seen at fit "
                f"(classes: {self.classes_.tolist()}); a sampling= estimator must return the "
                "labels it was asked for."
            )
        sorter = np.argsort(self.classes_, kind="stable")
        return sorter[np.searchsorted(self.classes_, labels, sorter=sorter)]

    def _calibration_key(self):
        settings = {p: getattr(self, p) for p in (*GENERATION_PARAMS, "sampling", "accelerator")}
        settings["device"] = str(self.generator_._sampling_device())  # "auto" resolved
        return param_digest(settings)

    def _synthetic_power(self):
        """``(power, level, grid_noise)``: mean power spectra and mean absolute window means
        of a calibration draw (uncalibrated, from its own seed), and what rounding onto the
        real windows' grid adds to the power (None without a grid)."""
        return self._draw_power()

    def _draw_power(self):
        n, n_classes = self.CALIBRATION_WINDOWS, len(self.classes_)
        rng = np.random.default_rng([self._calibration_seed, 1])
        noise = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        if self.condition == "label":
            codes = np.repeat(np.arange(n_classes, dtype=np.int64), n)
            conditions = codes
        else:
            sampler = self._condition_sampler()
            wanted = dict.fromkeys(self.classes_.tolist(), n)
            # quiet: the generation proper gives the sampler's warnings (the process-wide
            # warning filters are not changed here: that is not thread-safe)
            conds, labels = _sample(sampler, wanted, rng, self.generate_batch_size, warn=False)
            codes, conditions = self._codes_of(np.asarray(labels)), self._model_conditions(conds)
        on_a_grid = getattr(self, "quantization_", None) is not None

        def batches():
            for start, stop, windows in self.generator_.sample_batches(
                conditions, random_state=noise, desc="SASG calibration draw", warn=False
            ):
                if on_a_grid:  # measure the draw also on the grid, as extra channels
                    windows = np.concatenate([windows, self._to_grid(windows.copy())], axis=1)
                yield windows, codes[start:stop]

        power, level, _ = class_statistics(batches(), n_classes)
        if not on_a_grid:
            return power, level, None
        raw, gridded = np.split(power, 2, axis=1)
        # the rounding noise the grid adds to the power; it leaves the level as it is
        return raw, np.split(level, 2, axis=1)[0], gridded - raw

    def _current_gains(self):
        """The calibration gains for the current generation settings, or None."""
        if self.calibration is None:
            return None
        missing = "real_power_" if getattr(self, "real_power_", None) is None else None
        if self.calibration == "level" and getattr(self, "real_level_", None) is None:
            missing = missing or "real_level_"
        if missing is not None:
            raise ValueError(
                f"SASGAugmenter: this sampler was fitted by a version without "
                f"calibration={self.calibration!r}, so it lacks the real windows' statistics "
                f"({missing}); fit it again, or set calibration=None."
            )
        key = self._calibration_key()
        cached = self._calibration_power
        if cached is None or cached[0] != key or len(cached) != 4:  # 3: from before levels
            self._calibration_power = (key, *self._synthetic_power())
        _, power, level, grid_noise = self._calibration_power
        return calibration_gains(
            self.real_power_,
            power,
            self.n_times_,
            mode=self.calibration,
            noise_power=grid_noise,
            real_level=getattr(self, "real_level_", None),
            synthetic_level=level,
        )

    def _sample_windows(self, conditions, codes_of, generator, out):
        """The generator's windows for ``conditions``, calibrated batch by batch.

        ``codes_of()`` gives the windows' class codes; it is called only when there
        are gains to apply.
        """
        if self.calibration_gains_ is None:
            return self.generator_.sample(conditions, random_state=generator, out=out)
        codes, n = codes_of(), len(conditions)
        if out is None:
            out = np.empty((n, self.n_channels_, self.n_times_), dtype=self.dtype_)
        for start, stop, windows in self.generator_.sample_batches(
            conditions, random_state=generator
        ):
            out[start:stop] = self._calibrate(windows, codes[start:stop])
        return out[:n]

    def _calibrate(self, windows, codes):
        """``windows`` with the calibration gains of ``codes`` applied, in place."""
        gains = getattr(self, "calibration_gains_", None)  # None in pickles from before
        if gains is not None and len(windows):
            windows[...] = apply_gains(windows, codes, gains, nonnegative=self._keeps_nonnegative())
        return windows

    def _checkpoint_folder(self, X, y):
        """This fit's checkpoint folder (created), or None without ``checkpoint_dir``."""
        if self.checkpoint_dir is None:
            return None
        unused = {"verbose", "device", "accelerator", "checkpoint_dir", "checkpoint_every"}
        unused |= set(self._generation_params)
        mine = self.get_params(deep=False)
        params = {
            k: param_digest(v)
            for k, v in fingerprint_params(mine, patch_size_of(mine, X)).items()
            if k not in unused
        }
        params["library"] = __version__  # another release may train differently
        return fit_folder(self.checkpoint_dir, "sasg", X, y, params, "SASGAugmenter")

    def _checked_prior(self, X, y):
        """The fitted prior (loaded from its file), checked against this fit; or None."""
        if self.prior is None:
            return None
        problem = None
        if self.condition != "semantic":
            problem = "condition='semantic' (the prior's generator is conditioned on embeddings)"
        elif not self.refit_encoder:
            problem = "refit_encoder=True (the prior's encoder is what is fine-tuned)"
        elif self.checkpoint_dir is not None:
            problem = "checkpoint_dir=None (adapting a prior is a short fit)"
        if problem is not None:
            raise ValueError(f"SASGAugmenter: a prior needs {problem}.")
        prior = self.prior
        if isinstance(prior, (str, os.PathLike)):
            from .prior import load_prior_file

            try:
                prior = load_prior_file(prior, device=self.device)
            except ValueError as exc:
                if "cannot hold" not in str(exc):
                    raise
                raise ValueError(
                    f"SASGAugmenter: {exc} Load the prior that way and pass the object as prior=."
                ) from exc
        check_is_fitted(
            prior,
            "generator_",
            msg="SASGAugmenter: the prior %(name)s is not fitted; pretrain it with "
            "PopulationPrior().fit(X, y, groups=subjects), or load a pretrained one with "
            "load_weights.",
        )
        prior.check_target(X, y, fs=self.fs, who="SASGAugmenter")
        self._check_architecture_against(prior)
        return prior

    def _check_architecture_against(self, prior):
        """Refuse an architecture parameter set to a value the prior's generator lacks."""
        # the library's defaults (a subclass may require arguments of its own)
        defaults = {
            name: param.default
            for name, param in inspect.signature(SASGAugmenter.__init__).parameters.items()
        }
        theirs = prior.generator_.get_params()
        # nonnegative="auto" became a mode at pretraining: asking for that mode is no clash
        resolved = {"nonnegative": getattr(prior.generator_, "nonnegative_", None)}

        def same(a, b):
            return tuple(a) == tuple(b) if isinstance(a, (list, tuple)) else a == b

        mine = {p: getattr(self, p) for p in PRIOR_ARCHITECTURE}
        mine["nonnegative"] = nonnegative_mode(mine["nonnegative"])  # True is "clip"

        clashes = [
            f"{p}={getattr(self, p)!r} (the prior's: {theirs[p]!r}"
            + (f", resolved to {resolved[p]!r})" if resolved.get(p) is not None else ")")
            for p in PRIOR_ARCHITECTURE
            if not same(mine[p], defaults[p])
            and not same(mine[p], theirs[p])
            and not (p in resolved and same(mine[p], resolved[p]))
        ]
        if self.n_steps != defaults["n_steps"]:
            raise ValueError(
                f"SASGAugmenter: n_steps={self.n_steps!r} sets the training of a generator "
                "from scratch; with a prior, the prior's generator is fine-tuned for "
                f"adapt_steps (now {self.adapt_steps}) instead. Leave n_steps at its default "
                f"({defaults['n_steps']}) and set adapt_steps, or drop the prior."
            )
        if clashes:
            raise ValueError(
                "SASGAugmenter: with a prior, the generator's architecture is the prior's, "
                f"but this sampler sets {', '.join(clashes)}. Leave them at their defaults, "
                "or pretrain a prior with them."
            )

    def _fit_semantic(self, X, y, seed, prior=None):
        self.encoder_ = fit_semantic_encoder(self, X, y, seed, prior=prior)
        self._encoder_columns, emb = embed(self.encoder_, X, self.classes_)
        self.embedding_dim_ = emb.shape[1]
        self.train_embeddings_ = emb
        if prior is None:
            self.cond_mean_ = emb.mean(axis=0)
            self.cond_scale_ = np.where(emb.std(axis=0) > 1e-8, emb.std(axis=0), 1.0)
        else:  # the condition space the prior's generator was trained in
            self.cond_mean_, self.cond_scale_ = prior.cond_mean_, prior.cond_scale_
        self.sampler_ = self._sampling_estimator().fit(emb, self.classes_[self._train_codes])

    # -- conditions --------------------------------------------------------------------------
    def _sampling_estimator(self):
        """An unfitted sampler for the ``sampling`` parameter."""
        if isinstance(self.sampling, str):
            return _SAMPLERS[self.sampling]()
        return clone(self.sampling)

    def _condition_sampler(self):
        """The fitted sampler of the current ``sampling``, refitted if ``sampling`` changed."""
        spec = self._sampling_estimator()
        fitted = self.sampler_
        if type(spec) is not type(fitted) or not _same_params(
            spec.get_params(), fitted.get_params()
        ):
            self.sampler_ = spec.fit(self.train_embeddings_, self.classes_[self._train_codes])
        return self.sampler_

    def sample_conditions(self, n_per_class):
        """Draw new semantic conditions with the current ``sampling``, without generating.

        Useful to compare GMSS and SASS on one fitted model (e.g. with
        :func:`semgaug_sk.metrics.rarity_score` against ``train_embeddings_``).
        SASS conditions are the refined ones, before generation and the filter.
        The draw comes from the sampler's generation stream, as :meth:`generate`'s
        does, so it moves the windows a later :meth:`generate` returns.

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
        >>> from semgaug_sk.encoders import SemanticEncoder
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(30, 2, 16)).astype("float32"); y = np.repeat([0, 1], 15)
        >>> aug = SASGAugmenter(encoder=SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2),
        ...                     n_steps=2, base_channels=8, channel_mults=(1,), random_state=0)
        >>> z, lab = aug.fit(X, y).sample_conditions(3)
        >>> z.shape, lab.tolist()
        ((6, 4), [0, 0, 0, 1, 1, 1])
        """
        self._check_generator_fitted("sample_conditions")
        self._check_decided_at_fit(("condition",))  # quantize does not touch conditions
        counts = self._requested_counts(n_per_class, "sample_conditions")
        if self.condition != "semantic":
            raise ValueError(
                "SASGAugmenter.sample_conditions: condition='label' has no semantic conditions "
                "to sample; the condition of each window is its class."
            )
        self._validate_params()
        return _sample(
            self._condition_sampler(), counts, self._generation_rng, self.generate_batch_size
        )

    # -- generation --------------------------------------------------------------------------
    def _model_conditions(self, conds):
        return ((conds - self.cond_mean_) / self.cond_scale_).astype(np.float32)

    def _generate(self, counts, out=None):
        self._validate_params()
        # set_params may follow fit: named here, as the user set them, not by the generator
        check_sampler(self.sampler, self.eta, type(self).__name__)
        check_guidance(self.guidance_scale, self.cond_drop_prob, type(self).__name__)
        self.generator_.set_params(
            **{p: getattr(self, p) for p in (*GENERATION_PARAMS, "device", "accelerator")},
            verbose=self.verbose,
        )
        self.calibration_gains_ = self._current_gains()
        # a call that fails leaves the generation stream where it was
        state = self._generation_rng.bit_generator.state
        try:
            return self._generate_windows(counts, out)
        except BaseException:
            self._generation_rng.bit_generator.state = state
            raise

    def _generate_windows(self, counts, out):
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        n_per_code = OrderedDict(sorted((index[c], int(n)) for c, n in counts.items()))
        rng = self._generation_rng
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        self.last_acceptance_, self.last_shortfall_ = {}, {}
        if self.condition == "label":
            codes = np.repeat(list(n_per_code), list(n_per_code.values())).astype(np.int64)
            X = self._sample_windows(codes, lambda: codes, generator, out)
            self.last_conditions_, self.last_condition_labels_ = None, self.classes_[codes]
            return X, self.classes_[codes]
        sampler = self._condition_sampler()
        if not isinstance(sampler, SASS):
            wanted = {self.classes_[c]: n for c, n in n_per_code.items()}
            conds, labels = _sample(sampler, wanted, rng, self.generate_batch_size)
            X = self._sample_windows(
                self._model_conditions(conds), lambda: self._codes_of(labels), generator, out
            )
            self.last_conditions_, self.last_condition_labels_ = conds, labels
            return X, labels
        return sass_generate(self, sampler, n_per_code, rng, generator, out)

    def _clear_generation_records(self):
        super()._clear_generation_records()
        self.calibration_gains_ = None
        self.last_acceptance_, self.last_shortfall_ = {}, {}
        self.last_conditions_ = self.last_condition_labels_ = None

    # -- persistence -------------------------------------------------------------------------
    def _set_weights_state(self, state, *, device):
        """Set the fitted state read by :func:`~semgaug_sk.persistence.load_weights`."""
        vars(self).update(state)
        if not self.refit_encoder and getattr(self, "encoder_", None) is not None:
            self.encoder_ = self.encoder  # the same object, as after fit

    def __setstate__(self, state):
        # pickled before prediction, sampler, timestep_spacing, calibration or max_length
        # existed
        state = {
            "prediction": "x0",
            "sampler": "ddim",
            "timestep_spacing": "uniform",
            "max_length": None,
            "calibration": None,
            "_calibration_power": None,
            "cond_noise": None,
            **state,
        }
        super().__setstate__(cpu_fallback_state(state, "SASGAugmenter", owner=self))


def _same_params(a, b):
    """Whether two samplers' parameter dicts are equal, each value compared on its own.

    ``==`` on an array raises, so values are compared by their joblib hash; a value
    that cannot be pickled (a lambda) is compared with ``is`` or ``==``, and when that
    raises too it counts as different (the sampler is refitted, which is always safe).
    """
    return a.keys() == b.keys() and all(_same_value(a[key], b[key]) for key in a)


def _same_value(x, y):
    if x is y:
        return True
    try:
        return joblib.hash(x) == joblib.hash(y)
    except (pickle.PicklingError, TypeError, AttributeError):
        try:
            return bool(x == y)
        except (TypeError, ValueError):
            return False


def _takes_block_size(sampler):
    return _takes_keyword(sampler, "block_size")


def _takes_keyword(sampler, name):
    parameters = inspect.signature(sampler.sample).parameters
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _sample(sampler, n_per_class, rng, block_size, warn=True):
    """``sampler.sample``; ``block_size`` and ``warn`` only for a sampler that takes them
    (GMSS, SASS)."""
    kwargs = {"block_size": block_size} if _takes_block_size(sampler) else {}
    if not warn and _takes_keyword(sampler, "warn"):
        kwargs["warn"] = False
    return sampler.sample(n_per_class, rng, **kwargs)


def _check_custom_sampling(sampling):
    """Refuse, before any training, a ``sampling`` object the generation could not use."""
    try:
        clone(sampling)
    except TypeError as exc:
        raise TypeError(
            f"SASGAugmenter: sampling={sampling!r} cannot be cloned ({exc}); a condition "
            "sampler must be a scikit-learn estimator (subclass sklearn.base.BaseEstimator), "
            "like GMSS and SASS."
        ) from None
    try:
        inspect.signature(sampling.sample).bind({}, None)
    except TypeError:
        raise TypeError(
            f"SASGAugmenter: {type(sampling).__name__}.sample must take (n_per_class, "
            "random_state) as GMSS.sample does, and return (conditions, labels)."
        ) from None
