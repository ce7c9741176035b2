"""ComposedAugmenter: the synthetic windows of one sampler, transformed by classic augmentation."""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods

from ..utils.shared_params import SharedSubEstimatorParamsMixin
from ..utils.validation import caller_stacklevel, check_random_state_seed, sub_seeds
from .base import BaseWindowSampler
from .classic import ClassicAugmenter, _same_memory

__all__ = ["ComposedAugmenter"]

#: Serialises generation from samplers that compositions share (a FrozenEstimator that
#: clone keeps): each call swaps the shared sampler's generation streams for its own.
_SHARED_GENERATION_LOCK = threading.RLock()

#: The seeded streams of the parts that clone shares (sampler, transforms); None where not.
_SHARED_STREAMS = ("_shared_stream", "_shared_transforms_stream")


class ComposedAugmenter(SharedSubEstimatorParamsMixin, BaseWindowSampler):
    """Classic transforms applied to another sampler's synthetic windows (e.g. classic ∘ SASS).

    At fit, clones of ``sampler`` and ``transforms`` are fitted on the real windows. To
    make ``n`` synthetic windows of a class, the sampler generates them
    (``sampler_.generate``) and the classic augmenter transforms them
    (``transforms_.augment``): a diffusion sample then also varies in gain, warping and
    noise, the between-repetition variation that diffusion samples tend to lack.
    ``fit_resample`` returns the real windows first and unchanged, as every sampler of
    the library does.

    Parameters
    ----------
    sampler : sampler with ``fit`` and ``generate``, default=None
        The source of synthetic windows; ``None`` is ``SASGAugmenter()``. A
        ``FrozenEstimator`` of a fitted sampler is used as it is, not refitted.
        (As a Pipeline step of its own it would be refitted: imbalanced-learn calls
        its ``fit_resample``, which ``FrozenEstimator`` forwards to the sampler.)
    transforms : ClassicAugmenter, default=None
        The transforms; ``None`` is ``ClassicAugmenter()`` (all four methods).
    ratio : float, default=2.0
        Synthetic windows per real window of each class (SASG-DA's 2 : 1 mix).
    sampling_strategy : None, str, dict or callable, default=None
        imbalanced-learn's over-sampling strategy; overrides ``ratio``.
    random_state : int, RandomState instance or None, default=None
        Seeds the clones whose own ``random_state`` is None (each gets its own
        sub-seed), so one int makes the whole composition reproducible. A
        library sampler that the composition shares instead of cloning (a
        ``FrozenEstimator`` of a fitted one) generates each call from streams
        this composition seeds, so its clones and folds do not depend on one
        another's draws either.

    Attributes
    ----------
    sampler_, transforms_ : fitted clones of ``sampler`` and ``transforms``.
    classes_ : ndarray of shape (n_classes,)
    sampling_strategy_ : OrderedDict
        Synthetic windows per class that ``fit_resample`` makes.
    n_windows_fit_, n_channels_, n_times_ : int
        Shape of the training windows.
    n_features_in_ : int
        ``n_channels_ * n_times_``, as scikit-learn counts a window's values.
    dtype_ : numpy.dtype
        Float dtype of the validated training windows (integer codes are read as
        float32); synthetic windows are made in it.
    quantization_, quantization_levels_ : None
        Always None: the composition rounds nothing itself; its sampler and
        transforms round as their own ``quantize`` says (``sampler_.quantization_``).
    generator_fitted_ : bool
        Whether the last fit trained the sampler (``fit_resample`` with nothing to
        generate does not); ``generate`` needs it.
    last_sources_ : ndarray of int or None
        The sampler's sources of the last generation, when it records them; None
        when the sampler was fitted on other windows (a ``FrozenEstimator``), whose
        sources index those.
    integer_range_ : tuple of int or None
        ``(lowest, highest)`` of the integer dtype the training windows were given in
        (ADC codes); synthetic windows are clipped to it, as the device saturates and a
        cast back to that dtype must not wrap round. None for float windows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(12, 2, 30)).astype(np.float32)
    >>> y = np.repeat(["fist", "open"], 6)
    >>> aug = ComposedAugmenter(ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]),
    ...                         random_state=0)
    >>> X_res, y_res = aug.fit_resample(X, y)
    >>> X_res.shape, bool(np.array_equal(X_res[:12], X))
    ((36, 2, 30), True)
    """

    _parameter_constraints: dict = {
        **BaseWindowSampler._parameter_constraints,
        "sampler": [None, HasMethods(["fit", "generate"])],
        "transforms": [None, HasMethods(["fit", "augment"])],
    }

    def __init__(
        self, sampler=None, transforms=None, *, ratio=2.0, sampling_strategy=None, random_state=None
    ):
        super().__init__(
            ratio=ratio, sampling_strategy=sampling_strategy, random_state=random_state
        )
        self.sampler = sampler
        self.transforms = transforms

    def _fit(self, X, y):
        if self.sampler is None:
            from .sasg import SASGAugmenter  # imported here: torch only when it is used

            sampler = SASGAugmenter()
        else:
            sampler = clone(self.sampler)
        transforms = ClassicAugmenter() if self.transforms is None else clone(self.transforms)
        seeds = sub_seeds(check_random_state_seed(self.random_state), 2)
        for part, seed in zip((sampler, transforms), seeds, strict=True):
            if "random_state" in part.get_params() and part.random_state is None:
                part.set_params(random_state=seed)
        self.sampler_ = sampler.fit(X, y)
        self.transforms_ = transforms.fit(X, y)
        parts = (self.sampler, self.transforms)
        shared = [
            part is given or _is_frozen(part)
            for part, given in zip((sampler, transforms), parts, strict=True)
        ]
        if shared[0]:
            _check_fitted_like(sampler, X, y, "sampler")
        if shared[1]:
            _check_fitted_like(transforms, X, y, "transforms")
        # a sampler that clone shares (FrozenEstimator, a fitted prior-like object) was
        # fitted on other windows: its sources index those, not this X
        self._sources_index_x = not shared[0]
        # ... and a shared part's own generation stream is every sharer's: drawing from it
        # would make a fold's windows depend on the folds before. A library sampler is drawn
        # from streams seeded here instead
        for part, is_shared, seed, name in zip(
            (sampler, transforms), shared, seeds, _SHARED_STREAMS, strict=True
        ):
            stream = np.random.default_rng(seed) if is_shared and _seedable(part) else None
            setattr(self, name, stream)
        # what the clones were made from: a later set_params reaches them (_sync_parts)
        self._parts_at_fit = parts
        self._part_params_at_fit = tuple(_deep_params(p) for p in parts)
        return self

    def _sync_parts(self):
        """Bring the fitted clones up to ``sampler``'s and ``transforms``' current settings.

        A nested setting changed since fit (``set_params(sampler__n_sampling_steps=5)``)
        is set on the fitted clone, whose own checks then apply (a setting its fit decided
        on is refused there); a part replaced since fit is refused: only fit can fit it.
        """
        before = getattr(self, "_part_params_at_fit", None)
        if before is None:  # files and pickles from before the snapshot: as then
            return
        names = ("sampler", "transforms")
        for name, given, fitted, params_at_fit, part in zip(
            names,
            self._parts_at_fit,
            (self.sampler_, self.transforms_),
            before,
            (self.sampler, self.transforms),
            strict=True,
        ):
            if part is not given:
                raise ValueError(
                    f"ComposedAugmenter: {name} was replaced since fit (by "
                    f"{type(part).__name__}); the fitted clone of the one it replaced would "
                    "generate, so fit again."
                )
            if part is None or fitted is part or _is_frozen(fitted):
                continue  # a default, or a part used as it is (shared): nothing is stale
            now = _deep_params(part)
            changed = {
                key: value
                for key, value in now.items()
                if key != "random_state" and not _same_value(value, params_at_fit.get(key))
            }
            if changed:
                # an estimator given as a value is cloned, as fit clones the part
                fitted.set_params(
                    **{k: clone(v) if hasattr(v, "get_params") else v for k, v in changed.items()}
                )
                params_at_fit.update(changed)

    @contextlib.contextmanager
    def _seeded_generation(self, random_state):
        """Both parts draw from fresh streams seeded from ``random_state`` (see
        :meth:`BaseWindowSampler.generate`); only the library's samplers can."""
        # a frozen library sampler draws from the streams of the one it wraps
        parts = [getattr(p, "estimator", p) for p in (self.sampler_, self.transforms_)]
        foreign = [type(p).__name__ for p in parts if not isinstance(p, BaseWindowSampler)]
        if foreign:
            raise TypeError(
                f"ComposedAugmenter.generate: random_state= reseeds both parts, and "
                f"{', '.join(foreign)} keeps a stream of its own; call generate without "
                "random_state, or use the library's samplers as parts."
            )
        seeds = sub_seeds(self._generation_seed(random_state), 2)
        saved = {name: getattr(self, name, None) for name in _SHARED_STREAMS}
        try:
            with contextlib.ExitStack() as stack:
                for part, seed, name in zip(parts, seeds, _SHARED_STREAMS, strict=True):
                    if saved[name] is not None:
                        # a shared part is seeded per call in _generate, from this stream
                        setattr(self, name, np.random.default_rng(seed))
                    else:
                        stack.enter_context(part._seeded_generation(seed))
                yield
        finally:
            for name, stream in saved.items():
                if stream is not None:
                    setattr(self, name, stream)

    def _check_class_counts(self, counts, y_syn):
        """Refuse a class the sampler over-supplied or invented; warn about a shortfall."""
        classes, n_made = np.unique(y_syn, return_counts=True)
        got = dict(zip(classes.tolist(), n_made.tolist(), strict=True))  # Python values
        counts = dict(zip(np.asarray(list(counts)).tolist(), counts.values(), strict=True))
        name = type(self.sampler_).__name__
        excess = {c: n for c, n in got.items() if n > counts.get(c, 0)}
        if excess:
            raise ValueError(
                f"ComposedAugmenter: {name}.generate returned {excess!r} windows per class where "
                f"{ {c: counts.get(c, 0) for c in excess}!r} were asked for; a sampler makes at "
                "most the windows asked for, of the classes asked for."
            )
        short = {c: n - got.get(c, 0) for c, n in counts.items() if got.get(c, 0) < n}
        if short:
            warnings.warn(
                f"ComposedAugmenter: {name}.generate returned fewer windows than asked for "
                f"(missing per class: {short!r}); the result holds only those it made.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def _generate(self, counts, out=None):
        self._sync_parts()
        with contextlib.ExitStack() as stack:
            for part, name in zip((self.sampler_, self.transforms_), _SHARED_STREAMS, strict=True):
                stream = getattr(self, name, None)  # None: not shared, or pickled before
                if stream is not None:
                    stack.enter_context(_SHARED_GENERATION_LOCK)
                    seed = int(stream.integers(0, 2**31 - 1))
                    stack.enter_context(getattr(part, "estimator", part)._seeded_generation(seed))
            return self._generate_from_parts(counts, out)

    def _generate_from_parts(self, counts, out):
        n_wanted = sum(counts.values())
        if out is None:  # a buffer of our own, so the transforms can work in place
            out = np.empty((n_wanted, self.n_channels_, self.n_times_), dtype=self.dtype_)
        if getattr(type(self.sampler_), "generate", None) is BaseWindowSampler.generate:
            # the library's samplers write into out and hold one batch besides, so the
            # composition adds no full-size copy (memory bounded by the batch size); a
            # sampler with its own generate (or a wrapper such as FrozenEstimator) is
            # called through it, and its windows are copied into out, never changed
            self.sampler_._check_generator_fitted("generate")
            X_syn, y_syn = self.sampler_._generate_counts(
                self.sampler_._requested_counts(dict(counts), "generate"), out=out
            )
        else:
            X_syn, y_syn = self.sampler_.generate(dict(counts))
            X_syn, y_syn = np.asarray(X_syn), np.asarray(y_syn)
        if len(X_syn) > n_wanted or len(X_syn) != len(y_syn):
            raise ValueError(
                f"ComposedAugmenter: {type(self.sampler_).__name__}.generate returned "
                f"{len(X_syn)} windows and {len(y_syn)} labels for {n_wanted} "
                "requested; a sampler makes at most the windows asked for, one label each."
            )
        if not isinstance(self.sampler_, BaseWindowSampler):
            # the library's samplers keep their counts, and warn about a shortfall themselves
            self._check_class_counts(counts, y_syn)
        # files and pickles from before _sources_index_x existed: the sampler's, as then
        if getattr(self, "_sources_index_x", True):
            self.last_sources_ = getattr(self.sampler_, "last_sources_", None)
        else:  # a sampler fitted elsewhere: its sources are rows of another set
            self.last_sources_ = None
        if not len(X_syn):
            return out[:0], y_syn
        if not _same_memory(X_syn, out[: len(X_syn)]):
            out[: len(X_syn)] = X_syn
        X_syn = out[: len(X_syn)]
        if isinstance(self.transforms_, ClassicAugmenter):
            return self.transforms_.augment(X_syn, y_syn, out=X_syn), y_syn  # in place
        X_syn[...] = self.transforms_.augment(X_syn, y_syn)
        return X_syn, y_syn


def _seedable(part):
    """Whether the library can seed ``part``'s generation (a sampler of your own need not
    list its streams: it is drawn as it is)."""
    inner = getattr(part, "estimator", part)
    return isinstance(inner, BaseWindowSampler) and bool(
        inner._generation_streams or isinstance(inner, ComposedAugmenter)
    )


def _check_fitted_like(part, X, y, name):
    """Refuse a shared (already fitted) part whose windows or classes differ from ``X, y``."""
    inner = getattr(part, "estimator", part)
    shape = (getattr(inner, "n_channels_", None), getattr(inner, "n_times_", None))
    if None not in shape and tuple(X.shape[1:]) != shape:
        raise ValueError(
            f"ComposedAugmenter: the {name} ({type(inner).__name__}, used as it is) was fitted "
            f"on windows of shape {shape}, but X has windows of shape {tuple(X.shape[1:])}. "
            "Use a sampler fitted on the same channels and window length."
        )
    classes = getattr(inner, "classes_", None)
    if classes is not None:
        missing = np.setdiff1d(np.unique(y), np.asarray(classes))
        if len(missing):
            raise ValueError(
                f"ComposedAugmenter: the {name} ({type(inner).__name__}, used as it is) was "
                f"fitted without the class(es) {missing.tolist()} that y holds, so it cannot "
                "make windows of them. Use one fitted on every class of y."
            )


def _deep_params(estimator):
    """``estimator.get_params(deep=True)`` as a dict of its values now ({} for None)."""
    return {} if estimator is None else dict(estimator.get_params(deep=True))


def _same_value(a, b):
    """Whether two parameter values are the same setting (estimators: the same object)."""
    if a is b:
        return True
    if hasattr(a, "get_params") or hasattr(b, "get_params") or type(a) is not type(b):
        return False
    try:
        return bool(np.all(a == b)) if isinstance(a, np.ndarray) else bool(a == b)
    except (TypeError, ValueError):
        return False


def _is_frozen(estimator):
    """Whether ``estimator`` is a :class:`sklearn.frozen.FrozenEstimator` (fit does nothing)."""
    from sklearn.frozen import FrozenEstimator

    return isinstance(estimator, FrozenEstimator)
