"""A population prior: the SASG encoder and generator pretrained on other people's windows.

A new user records one or two repetitions per gesture; the variation between
repetitions and sessions that test windows show is not in them. Other people's
recordings show it. :class:`PopulationPrior` pretrains, once per data set, the
semantic encoder and the diffusion generator on many subjects. Each subject's
windows are first divided by that subject's per-channel RMS
(:func:`~semgaug_sk.preprocessing.channel_rms`), which removes the gain that
differs between people and electrode placements.

A target then adapts the prior inside an ordinary ``fit``:

- ``SemanticEncoder(prior=prior)`` fine-tunes the prior's encoder on the target's
  windows (transfer learning);
- ``SASGAugmenter(prior=prior)`` fine-tunes that encoder, conditions the generator
  on the target's embeddings (in the prior's condition space) and fine-tunes the
  generator from the prior's weights for ``adapt_steps`` steps.
"""

from __future__ import annotations

import numbers
import threading
import warnings
import weakref
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..encoders import SemanticEncoder
from ..preprocessing import channel_rms
from ..utils.shared_params import SharedSubEstimatorParamsMixin
from ..utils.torch_utils import CPUFallbackOwner, cpu_fallback_state
from ..utils.training import restore_on_failure
from ..utils.validation import (
    RefuseBoolNumbersMixin,
    _to_array,
    caller_stacklevel,
    check_group_values,
    check_random_state_seed,
    check_windows_labels,
    sub_seeds,
)
from .generator import DiffusionGenerator

__all__ = ["PopulationPrior", "class_power", "load_prior_file", "target_scale"]


def class_power(X, y, groups, classes):
    """Mean square of each class and channel in RMS-normalised windows, averaged over subjects.

    Each subject's windows ``X`` are already divided by that subject's channel RMS, so
    each subject's class powers, weighted by its class counts, average to 1: a class
    above 1 is louder than that subject's average gesture.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
        RMS-normalised windows of several subjects.
    y, groups : ndarray of shape (n_windows,)
        Class and subject of each window.
    classes : ndarray of shape (n_classes,)
        Sorted classes (the rows of the result).

    Returns
    -------
    power : ndarray of shape (n_classes, n_channels)
        NaN for a class no subject recorded.

    Examples
    --------
    >>> X = np.stack([np.full((1, 8), v) for v in (1.0, 3.0, 1.0, 3.0)])
    >>> class_power(X, np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]), np.array([0, 1]))
    array([[1.],
           [9.]])
    """
    power = np.zeros((len(classes), X.shape[1]))
    seen = np.zeros(len(classes))
    codes = np.searchsorted(classes, y)
    for subject in np.unique(groups):
        mine = groups == subject
        for code in np.unique(codes[mine]):
            rows = X[mine & (codes == code)].astype(np.float64)
            power[code] += np.mean(np.square(rows), axis=(0, 2))
            seen[code] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return power / seen[:, None]


def target_scale(X, y, classes, power):
    """Per-channel scale that puts a target's windows where the population's subjects were.

    The subjects of a prior were divided by their channel RMS over all their gestures.
    A target recording a subset of the gestures, or some more than others, has an RMS
    that depends on which: its quiet gestures alone give a smaller one. With
    ``power`` (:func:`class_power`), the target's mean square is compared with what the
    population's subjects show over the same mix of classes:
    ``rms(X) / sqrt(sum_c n_c power_c / n)``. A target with the population's mix gets
    about its RMS.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    y : ndarray of shape (n_windows,)
        Classes among ``classes``.
    classes : ndarray of shape (n_classes,)
    power : ndarray of shape (n_classes, n_channels)

    Returns
    -------
    scale : ndarray of shape (n_channels,)

    Examples
    --------
    >>> classes, power = np.array([0, 1]), np.array([[0.2], [1.8]])  # a quiet, a loud class
    >>> quiet = np.full((4, 1, 8), 0.5)  # the quiet gesture of a subject at gain 0.5 / sqrt(0.2)
    >>> bool(np.isclose(target_scale(quiet, np.zeros(4, int), classes, power)[0], 0.5 / 0.2**0.5))
    True
    """
    rms = channel_rms(X)  # checks X: windows of finite values
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(
            f"target_scale: y must hold one class per window, shape ({len(X)},); got {y.shape}."
        )
    present, counts = np.unique(y, return_counts=True)
    unknown = np.setdiff1d(present, classes)
    if len(unknown):
        raise ValueError(
            f"target_scale: the classes {unknown.tolist()} have no class power; y must hold "
            f"classes among {np.asarray(classes).tolist()} (those of the prior)."
            f"{_label_kind_hint(y, classes)}"
        )
    expected = counts @ power[np.searchsorted(classes, present)] / counts.sum()
    usable = np.isfinite(expected) & (expected > 0)  # a silent channel keeps its RMS
    return rms / np.sqrt(np.where(usable, expected, 1.0))


def _label_kind_hint(y, classes):
    """`` The names match ...`` when ``y`` names the prior's classes in another kind
    (strings for numbers or the reverse), else ``""``."""
    y, classes = np.asarray(y), np.asarray(classes)
    if (y.dtype.kind in "OUS") == (classes.dtype.kind in "OUS"):
        return ""
    given = {str(v) for v in np.unique(y).tolist()}
    if not given <= {str(c) for c in classes.tolist()}:
        return ""
    kind = "numbers" if classes.dtype.kind not in "OUS" else "strings"
    return (
        f" The names match, but the prior's classes are {kind} ({classes.dtype}) and these "
        f"are not ({y.dtype}): convert the labels, e.g. y.astype(prior.classes_.dtype)."
    )


class PopulationPrior(
    SharedSubEstimatorParamsMixin, CPUFallbackOwner, RefuseBoolNumbersMixin, BaseEstimator
):
    """SASG's encoder and diffusion generator pretrained on a population of subjects.

    ``fit(X, y, groups=subjects)`` divides each subject's windows by its per-channel
    RMS, trains ``encoder`` on all of them, embeds them, and trains ``generator`` on
    the windows conditioned on their standardised embeddings. Pass the fitted prior
    to :class:`~semgaug_sk.encoders.SemanticEncoder` and
    :class:`~semgaug_sk.augmentation.SASGAugmenter` (``prior=``), which adapt it to a
    target's windows inside their own ``fit``. Save it with
    :func:`~semgaug_sk.persistence.save_weights` and load it with
    :func:`~semgaug_sk.persistence.load_weights` (weights only).

    ``clone`` returns a *fitted* prior itself (shared, not copied), so estimators
    holding it keep it through ``GridSearchCV`` and ``cross_validate``, and a search
    over ``prior=[a, b]`` compares the priors themselves. For the same reason a search
    or cross-validation whose *estimator* is a fitted prior would refit that very
    object: give them an unfitted ``PopulationPrior(**prior.get_params(deep=False))``
    (refitting a fitted prior warns).

    Parameters
    ----------
    encoder : None or SemanticEncoder, default=None
        Unfitted encoder to pretrain (cloned); None is ``SemanticEncoder()``.
    generator : None or DiffusionGenerator, default=None
        Unfitted generator to pretrain (cloned); None is ``DiffusionGenerator()``.
        A population has many windows: consider more ``n_steps``.
    fs : None or float, default=None
        Sampling rate (Hz) of the windows, recorded and compared with a target's
        when the target states its own.
    random_state : int, RandomState instance or None, default=None
        Seeds the encoder and the generator (independent sub-seeds) unless they
        have their own ``random_state``.
    verbose : int, default=0
        For the encoder and the generator when they have none: 1 shows the
        generator's progress bar, 2 adds the encoder's epoch logs (as in
        :class:`~semgaug_sk.augmentation.SASGAugmenter`).

    Attributes
    ----------
    encoder_ : SemanticEncoder
        The pretrained encoder (on RMS-normalised windows).
    generator_ : DiffusionGenerator
        The pretrained generator, conditioned on standardised embeddings.
    cond_mean_, cond_scale_ : ndarray of shape (n_dims,)
        Standardisation of the embeddings into the generator's condition space.
    classes_ : ndarray of shape (n_classes,)
        Classes of the population; a target's must be among them.
    subjects_ : ndarray
        The groups seen at fit.
    n_channels_, n_times_ : int
        Window shape; a target's must match.
    embedding_dim_ : int
        Size of the encoder's embeddings, the generator's conditions.
    class_power_ : ndarray of shape (n_classes, n_channels)
        Mean square of each class in the RMS-normalised windows, averaged over
        subjects (:func:`class_power`): what :meth:`target_scale` compares a
        target's class mix with.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(48, 4, 32)).astype("float32")
    >>> y, subjects = np.tile(np.repeat([0, 1, 2], 4), 4), np.repeat(["S1", "S2"], 24)
    >>> prior = PopulationPrior(
    ...     encoder=SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2),
    ...     generator=DiffusionGenerator(n_steps=2, base_channels=8, channel_mults=(1,)),
    ...     random_state=0).fit(X, y, groups=subjects)
    >>> prior.classes_.tolist(), prior.n_channels_
    ([0, 1, 2], 4)
    """

    _parameter_constraints: dict = {
        # adaptation fine-tunes these two networks: nothing else can be adapted
        "encoder": [None, SemanticEncoder],
        "generator": [None, DiffusionGenerator],
        "fs": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, *, encoder=None, generator=None, fs=None, random_state=None, verbose=0):
        self.encoder = encoder
        self.generator = generator
        self.fs = fs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, groups=None):
        """Pretrain the encoder and the generator on the windows of many subjects.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        y : array-like of shape (n_windows,)
        groups : array-like of shape (n_windows,)
            The subject of each window (at least 2 subjects).

        Returns
        -------
        self : PopulationPrior
        """
        self._validate_params()
        X, y = check_windows_labels(X, y, min_classes=2, min_times=2, estimator=self)
        if groups is None:
            raise ValueError(
                "PopulationPrior.fit: groups is required: pass the subject of each window "
                "(groups=subjects), so that each subject is normalised by its own scale. "
                "Inside GridSearchCV or cross_validate, groups= reaches only the splitter "
                "unless metadata routing is on: sklearn.set_config("
                "enable_metadata_routing=True) and prior.set_fit_request(groups=True)."
            )
        groups = check_group_values(
            groups,
            "subject",
            "PopulationPrior.fit",
            drop="keep = ~np.isnan(groups); fit(X[keep], y[keep], groups=groups[keep])",
            convert="groups = np.asarray(groups).astype(str)",
        )
        if groups.shape != (len(X),):
            raise ValueError(
                f"PopulationPrior.fit: groups must have one subject per window, shape "
                f"({len(X)},); got {groups.shape}."
            )
        subjects = np.unique(groups)
        if len(subjects) < 2:
            raise ValueError(
                "PopulationPrior.fit: the windows come from one subject; a population prior "
                "needs at least 2. Fit SASGAugmenter on that subject's windows instead."
            )
        if hasattr(self, "generator_"):
            warnings.warn(
                "PopulationPrior.fit: this prior is already fitted, and clone shares a fitted "
                "prior, so refitting it replaces what it learned for every estimator and "
                "search that holds it. If a GridSearchCV or cross_validate is fitting it, "
                "pass them an unfitted PopulationPrior(**prior.get_params(deep=False)) instead.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        with restore_on_failure(self):  # a failed or interrupted fit leaves the prior as it was
            self._pretrain(X, y, groups, subjects)
        return self

    def _pretrain(self, X, y, groups, subjects):
        self.subjects_ = subjects
        seed = check_random_state_seed(self.random_state)
        enc_seed, gen_seed = sub_seeds(seed, 2)
        Xs = np.empty(X.shape, dtype=np.float32)
        for subject in self.subjects_:
            rows = groups == subject
            Xs[rows] = X[rows] / channel_rms(X[rows])[:, None]
        encoder = SemanticEncoder() if self.encoder is None else clone(self.encoder)
        generator = DiffusionGenerator() if self.generator is None else clone(self.generator)
        for est, sub_seed in ((encoder, enc_seed), (generator, gen_seed)):
            params = est.get_params()
            # only where the estimator has the parameter and left it unset (seed 0 is a seed)
            if "random_state" in params and params["random_state"] is None:
                est.set_params(random_state=sub_seed)
            if params.get("verbose", "?") in (None, 0):
                # verbose=1 is a progress bar for the generator but epoch logs for the
                # encoder, which get the logs only from 2 on, as in SASGAugmenter
                level = self.verbose if est is generator else int(self.verbose >= 2)
                est.set_params(verbose=level)
        self.encoder_ = encoder.fit(Xs, y)
        emb = np.asarray(self.encoder_.transform(Xs), dtype=np.float64)  # any set_output
        self.cond_mean_ = emb.mean(axis=0)
        std = emb.std(axis=0)
        self.cond_scale_ = np.where(std > 1e-8, std, 1.0)
        self.generator_ = generator.fit(Xs, self.condition_space(emb))
        self.classes_ = self.encoder_.classes_
        self.class_power_ = class_power(Xs, y, groups, self.classes_)
        self.n_channels_, self.n_times_ = int(X.shape[1]), int(X.shape[2])
        self.embedding_dim_ = int(emb.shape[1])

    #: Fitted attributes every saved prior holds (load_weights refuses a file without them).
    _weights_required = (
        "subjects_",
        "encoder_",
        "generator_",
        "classes_",
        "cond_mean_",
        "cond_scale_",
        "n_channels_",
        "n_times_",
    )

    def __sklearn_clone__(self):
        # A fitted prior is knowledge that estimators built on it adapt, not a setting:
        # clone (GridSearchCV, cross_validate, Pipeline, a search over prior=[a, b])
        # shares it instead of unfitting it.
        if hasattr(self, "generator_"):
            return self
        return super().__sklearn_clone__()

    def target_scale(self, X, y=None):
        """The per-channel scale that divides a target's windows into the prior's space.

        The target's channel RMS, corrected for its mix of classes (:func:`target_scale`):
        a target recording only some of the population's gestures is scaled as the same
        person recording them all would be. Without ``y``, or for a prior saved before
        ``class_power_`` existed, the channel RMS.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_channels, n_times)
        y : ndarray of shape (n_windows,), optional

        Returns
        -------
        scale : ndarray of shape (n_channels,)
        """
        self._check_fitted("target_scale")
        n_channels = np.shape(X)[1] if np.ndim(X) == 3 else None
        if n_channels is not None and n_channels != self.n_channels_:
            raise ValueError(
                f"PopulationPrior.target_scale: the windows have {n_channels} channels but the "
                f"population prior was trained on {self.n_channels_}. Record with the prior's "
                "electrodes, or pretrain a prior for these."
            )
        power = getattr(self, "class_power_", None)
        if y is None or power is None:  # power is None: a prior saved before class_power_
            return channel_rms(X)
        return target_scale(X, np.asarray(y), self.classes_, power)

    def condition_space(self, embeddings):
        """Embeddings standardised into the generator's condition space.

        Parameters
        ----------
        embeddings : array-like of shape (n_windows, embedding_dim)
            Embeddings of the prior's encoder.

        Returns
        -------
        conditions : ndarray of shape (n_windows, embedding_dim), float32
            ``(embeddings - cond_mean_) / cond_scale_``.
        """
        self._check_fitted("condition_space", "cond_mean_")  # set before the generator's fit
        return ((np.asarray(embeddings) - self.cond_mean_) / self.cond_scale_).astype(np.float32)

    def _check_fitted(self, method, attribute="generator_"):
        check_is_fitted(
            self,
            attribute,
            msg=f"PopulationPrior.{method}: this prior is not fitted; pretrain it with "
            "PopulationPrior().fit(X, y, groups=subjects), or load a pretrained one with "
            "load_weights.",
        )

    def __setstate__(self, state):
        # one warning for the encoder and generator fitted on a device absent here
        super().__setstate__(cpu_fallback_state(state, "PopulationPrior", owner=self))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        return tags

    def _check_signal_kind(self, X, who):
        """Refuse signed windows for a prior of non-negative envelopes; warn the other way.

        The generator's non-negative mode is part of its data space: a "clip" or "log"
        prior would rectify a signed target's synthetic windows, and one pretrained on
        signed EMG knows nothing of envelopes.
        """
        mode = getattr(self.generator_, "nonnegative_", None)
        lowest = float(np.min(X))
        if mode in ("clip", "log") and lowest < 0:
            raise ValueError(
                f"{who}: the windows hold negative values (down to {lowest:.3g}), but the "
                f"population prior was pretrained on non-negative windows (an envelope; its "
                f"generator's nonnegative mode is {mode!r}) and would generate rectified ones. "
                "Give it windows of the same kind (e.g. the same envelope), or pretrain a "
                "prior on signed EMG."
            )
        if mode == "none" and lowest >= 0:
            warnings.warn(  # one text for every caller: an augmenter and its encoder warn once
                "PopulationPrior: the windows are non-negative (an envelope?), but the population "
                "prior was pretrained on signed windows (raw EMG); it adapts from signals of "
                "another kind (an augmenter clips its synthetic windows at 0). Pretrain a prior on "
                "windows like these if that is not intended.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def check_target(self, X, y=None, *, fs=None, who="PopulationPrior"):
        """Refuse a target the prior cannot adapt to, each mismatch with its own message.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        y : array-like of shape (n_windows,), optional
            Its classes must be among ``classes_``.
        fs : None or float, default=None
            The target's sampling rate, compared with ``fs`` when both are known.
        who : str, default="PopulationPrior"
            Estimator named in the messages.

        Raises
        ------
        ValueError
            On a different channel count, window length, sampling rate, a class the
            prior never saw, or signed windows for a prior pretrained on non-negative
            ones (an envelope).

        Warns
        -----
        UserWarning
            Non-negative windows for a prior pretrained on signed EMG.
        """
        check_is_fitted(
            self,
            "generator_",
            msg=f"{who}: the prior %(name)s is not fitted; pretrain it with "
            "PopulationPrior().fit(X, y, groups=subjects), or load a pretrained one with "
            "load_weights.",
        )
        try:  # a tensor or a nested list, as the estimators take
            X = _to_array(X, name="X")
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"{who}: {exc}") from None
        shape = np.shape(X)
        if len(shape) != 3:
            raise ValueError(
                f"{who}: X must be windows of shape (n_windows, n_channels, n_times) to adapt "
                f"the population prior; got an array of shape {shape}."
            )
        if shape[1] != self.n_channels_:
            raise ValueError(
                f"{who}: the windows have {shape[1]} channels but the population prior was "
                f"trained on {self.n_channels_}. Use the prior's electrode layout (same "
                "channels, same order), or pretrain a prior on recordings of this device."
            )
        if shape[2] != self.n_times_:
            raise ValueError(
                f"{who}: the windows have {shape[2]} samples but the population prior was "
                f"trained on windows of {self.n_times_}. Cut windows of the prior's length "
                "(same window_ms at the same sampling rate), or pretrain a prior for them."
            )
        if fs is not None and self.fs is not None and not np.isclose(fs, self.fs):
            raise ValueError(
                f"{who}: the windows are sampled at {fs:g} Hz but the population prior at "
                f"{self.fs:g} Hz. Resample the recordings to {self.fs:g} Hz before windowing "
                "(scipy.signal.resample_poly), or pretrain a prior at this rate."
            )
        self._check_signal_kind(X, who)
        if y is not None:
            unknown = np.setdiff1d(np.unique(np.asarray(y)), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"{who}: the classes {unknown.tolist()} are not in the population prior, "
                    f"which knows {self.classes_.tolist()}.{_label_kind_hint(y, self.classes_)} "
                    "Use the prior's label names, drop those gestures, or pretrain a prior that "
                    "includes them."
                )


_LOADED_PRIORS = weakref.WeakValueDictionary()
_LOADED_PRIORS_LOCK = threading.Lock()


def load_prior_file(path, device="cpu"):
    """The :class:`PopulationPrior` saved at ``path``, loaded once while it is in use.

    Samplers given the same prior file (a server adapting one user after another) share
    one loaded prior instead of holding a copy each; adapting never changes a prior. A
    file rewritten or replaced since (its inode, size, or change or modification time) is
    loaded anew.

    Parameters
    ----------
    path : str or path-like
        A :func:`~semgaug_sk.persistence.save_weights` file of a fitted prior.
    device : str, default="cpu"
        Where its networks run.

    Returns
    -------
    prior : PopulationPrior

    Examples
    --------
    >>> from semgaug_sk.augmentation.prior import load_prior_file
    >>> load_prior_file("db1.sgw")  # doctest: +SKIP
    PopulationPrior(...)
    """
    from ..persistence import load_weights

    resolved = Path(path).resolve()
    stat = resolved.stat() if resolved.is_file() else None
    if stat is None:  # load_weights names the problem (missing file, a folder, ...)
        return load_weights(path, device=device, estimator_type=PopulationPrior)
    # the inode and the change time tell apart a file replaced by another of one size
    # and one modification time (cp -p, rsync -t)
    key = (
        str(resolved),
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        stat.st_ctime_ns,
        str(device),
    )
    with _LOADED_PRIORS_LOCK:
        prior = _LOADED_PRIORS.get(key)
    if prior is None:  # loaded outside the lock: a slow load holds up no other file
        loaded = load_weights(path, device=device, estimator_type=PopulationPrior)
        with _LOADED_PRIORS_LOCK:
            prior = _LOADED_PRIORS.setdefault(key, loaded)
    return prior
