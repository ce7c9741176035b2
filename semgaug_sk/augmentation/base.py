"""The sampler contract shared by every window augmenter.

Modelled on imbalanced-learn's ``over_sampling/base.py``: the contract lives in
one base class, and subclasses only write how to learn from the real windows
(:meth:`BaseWindowSampler._fit`) and how to make new ones
(:meth:`BaseWindowSampler._generate`).

The contract:

- ``fit_resample(X, y)`` returns the real windows first, unchanged and in their
  order, followed by the synthetic ones: ``X_res[:n] == X`` and
  ``y_res[:n] == y``. A sampler never drops or alters a real window.
- Synthetic labels are only ever classes seen at fit.
- Input is 3-D ``(n_windows, n_channels, n_times)``. imbalanced-learn's own
  validation accepts 2-D feature matrices only, so it is bypassed on purpose
  and the windows are validated here instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import numbers
import sys
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy
from sklearn.base import _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..utils.provenance import (
    CarriesOutputRecordMixin,
    chain_provenance,
    provenance_of,
    record_provenance,
    warn_if_record_dropped,
)
from ..utils.training import restore_on_failure
from ..utils.validation import (
    RefuseBoolNumbersMixin,
    check_random_state_seed,
    check_windows,
    check_windows_labels,
)
from .quantization import detect_quantization, observed_levels, quantize

__all__ = ["BaseWindowSampler", "n_synthetic_per_class"]

#: The ``ratio`` of every sampler's constructor (2 synthetic : 1 real, as in SASG-DA).
_DEFAULT_RATIO = 2.0


def n_synthetic_per_class(y, ratio, sampling_strategy=None) -> OrderedDict:
    """Number of synthetic windows to make for each class.

    Parameters
    ----------
    y : ndarray of shape (n_windows,)
        Real labels.
    ratio : float
        Synthetic windows per real window of the same class, used when
        ``sampling_strategy`` is None. ``ratio=2.0`` gives the 2 synthetic :
        1 real mix of SASG-DA; ``ratio=0`` makes none.
    sampling_strategy : None, str, dict or callable
        imbalanced-learn's over-sampling strategy (e.g. ``"auto"`` to balance
        the classes, or ``{class: n_total}``). When given, ``ratio`` is ignored.

    Returns
    -------
    counts : OrderedDict
        ``{class: n_synthetic}`` for every class, in sorted class order.

    Examples
    --------
    >>> import numpy as np
    >>> {int(c): n for c, n in n_synthetic_per_class(np.array([0, 0, 1]), ratio=2.0).items()}
    {0: 4, 1: 2}
    """
    classes, counts = np.unique(y, return_counts=True)
    if sampling_strategy is None:
        return OrderedDict(
            (c, int(np.floor(ratio * n + 0.5))) for c, n in zip(classes, counts, strict=True)
        )
    if isinstance(sampling_strategy, Mapping) and not isinstance(sampling_strategy, dict):
        sampling_strategy = dict(sampling_strategy)  # imbalanced-learn recognises dicts only
    wanted = check_sampling_strategy(sampling_strategy, y, "over-sampling")
    fractional = [c for c, n in wanted.items() if n != int(n)]
    if fractional:
        raise ValueError(
            f"sampling_strategy asks for a fractional number of windows of the classes "
            f"{np.asarray(fractional).tolist()!r}; give whole totals"
        )
    return OrderedDict((c, int(wanted.get(c, 0))) for c in classes)


def _reject_fit_params(sampler, method, params):
    """A keyword a sampler would silently ignore (``sample_weight``, a typo) is an error."""
    if params:
        raise TypeError(
            f"{type(sampler).__name__}.{method} got unexpected keyword argument(s) "
            f"{sorted(params)!r}: window samplers take only X and y. Weights are not "
            "supported; to weight a class, ask for more of its windows (sampling_strategy)."
        )


class BaseWindowSampler(CarriesOutputRecordMixin, RefuseBoolNumbersMixin, BaseOverSampler):
    """Base class of the window augmenters (not to be used directly).

    Subclasses implement ``_fit(X, y)``, which learns from validated real windows
    (``self.classes_`` is already set), and ``_generate(counts)``, which returns
    ``(X_syn, y_syn)`` for ``counts = {class: n}``. Everything else (validation,
    the counts, the real-first concatenation, ``generate``) lives here.

    Parameters
    ----------
    ratio : float, default=2.0
        Synthetic windows per real window of each class.
    sampling_strategy : None, str, dict or callable, default=None
        imbalanced-learn over-sampling strategy; overrides ``ratio`` when given.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in the sampler.
    """

    #: Parameters whose meaning fit decides on the real windows (``quantize="auto"``: the
    #: grid found there); changing one after fit is refused until the next fit.
    _decided_at_fit: tuple = ()

    _parameter_constraints: dict = {
        "ratio": [Interval(numbers.Real, 0, None, closed="left")],
        "sampling_strategy": [
            None,
            Interval(numbers.Real, 0, 1, closed="right"),
            StrOptions({"auto", "minority", "not minority", "not majority", "all"}),
            Mapping,
            callable,
        ],
        "random_state": ["random_state"],
    }

    #: Smallest window length (samples) the subclass can handle.
    _min_times = 1

    def __init__(self, *, ratio=2.0, sampling_strategy=None, random_state=None):
        self.ratio = ratio
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    # -- the contract --------------------------------------------------------------------
    @abstractmethod
    def _fit(self, X, y):
        """Learn from validated 3-D float windows ``X`` and labels ``y``; return self."""

    @abstractmethod
    def _generate(self, counts, out=None):
        """Return ``(X_syn, y_syn)`` with ``counts[c]`` windows of each class ``c``.

        ``out``, when given, is an array of ``sum(counts.values())`` windows of
        dtype ``dtype_``: a subclass may write the windows into it and return
        ``out[:n_made]``, to save a copy of the output (otherwise the base
        class copies them there).
        """

    def _check_input(self, X, y):
        # Our checks first, so y=None, NaN, complex or continuous labels get our messages;
        # scikit-learn's check then only sees 1-D labels that already passed them.
        X, y = check_windows_labels(X, y, min_classes=1, min_times=self._min_times, estimator=self)
        check_classification_targets(y)
        self._check_ratio_and_strategy()
        return X, y

    def _check_ratio_and_strategy(self):
        """Refuse a non-default ``ratio`` next to a ``sampling_strategy``, which overrides it."""
        default = self._default_ratio()
        if self.sampling_strategy is not None and self.ratio != default:
            raise ValueError(
                f"{type(self).__name__}: ratio={self.ratio!r} and "
                f"sampling_strategy={self.sampling_strategy!r} were both given, but "
                "sampling_strategy overrides ratio. Pass one of them: leave ratio at its default "
                f"({default}) with a sampling_strategy, or set sampling_strategy=None."
            )

    @classmethod
    def _default_ratio(cls):
        """The ``ratio`` default of this sampler's constructor (samplers differ)."""
        parameter = inspect.signature(cls.__init__).parameters.get("ratio")
        return _DEFAULT_RATIO if parameter is None else parameter.default

    def _counts(self, y):
        """``n_synthetic_per_class`` with imbalanced-learn's errors worded for this sampler."""
        try:
            return n_synthetic_per_class(y, self.ratio, self.sampling_strategy)
        except (ValueError, TypeError, AttributeError) as exc:
            classes = np.unique(y).tolist()
            advice = (
                "With one class there is nothing to balance: pass sampling_strategy=None and "
                "use ratio, or a dict {class: total number of windows wanted}."
                if len(classes) == 1
                else "Pass None (and use ratio), 'auto', or a dict {class: total number of "
                "windows wanted} with totals at least the real counts."
            )
            raise ValueError(
                f"{type(self).__name__}: sampling_strategy={self.sampling_strategy!r} does not "
                f"fit the classes {classes!r} of y ({exc}). {advice}"
            ) from None

    # False: the estimators a user passes in (an encoder, an imitator, a composed part)
    # check their parameters when fitted inside, as on their own
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **params):
        """Learn from the real windows without returning resampled data.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Real windows.
        y : array-like of shape (n_windows,)
            Labels: integers or strings (scalars of one kind).

        Returns
        -------
        self : object
        """
        _reject_fit_params(self, "fit", params)
        integer_range = _integer_code_range(X)
        X, y = self._check_input(X, y)
        with restore_on_failure(self):
            self._fit_validated(X, y, integer_range=integer_range)
        return self

    def _fit_validated(self, X, y, *, train_generator=True, integer_range=None):
        if hasattr(self, "last_sources_"):  # rows of the windows of an earlier fit
            del self.last_sources_
        self.sampling_strategy_ = self._counts(y)
        self.classes_ = np.unique(y)
        self.n_windows_fit_ = X.shape[0]
        self.n_channels_ = X.shape[1]
        self.n_times_ = X.shape[2]
        self.n_features_in_ = X.shape[1] * X.shape[2]
        self.dtype_ = X.dtype
        self.quantization_ = self._fit_quantization(X, integer_range is not None)
        # windows given as integer codes: synthetic ones stay inside the type's range, as
        # the device saturates (and a cast back to the codes' dtype must not wrap round)
        self.integer_range_ = integer_range
        self._settings_at_fit = {p: getattr(self, p) for p in self._decided_at_fit}
        # the value the recordings store for each level ("auto": the grid is theirs)
        self.quantization_levels_ = None
        if self.quantization_ is not None and isinstance(getattr(self, "quantize", None), str):
            self.quantization_levels_ = observed_levels(X, *self.quantization_)
        self.generator_fitted_ = bool(train_generator)
        self._check_settings(X)  # also without training: a grid's ratio=0 point hides no typo
        trained = set(getattr(self, "_trained_attributes", ()))
        if train_generator:
            before = set(vars(self))
            # a part fitted on these very windows (ComposedAugmenter's) knows they are codes
            token = _INTEGER_WINDOWS.set(None if integer_range is None else (X, integer_range))
            try:
                self._fit(X, y)
            finally:
                _INTEGER_WINDOWS.reset(token)
            self._trained_attributes = sorted(trained | (set(vars(self)) - before))
        else:
            self._check_untrained_fit(X, y)
            # nothing to generate: what an earlier training left describes other data
            for name in trained:
                self.__dict__.pop(name, None)
            self._trained_attributes = []

    def _check_untrained_fit(self, X, y):
        """Refuse, when nothing is generated (``ratio=0``), what ``_fit`` would refuse on
        ``(X, y)`` beyond the settings (none by default)."""

    def _check_settings(self, X):
        """Refuse settings ``_fit`` would refuse on ``X``, before any training (none by default)."""

    # False: the estimators a user passes in (an encoder, an imitator, a composed part)
    # check their parameters when fitted inside, as on their own
    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, **params):
        """Fit on the real windows and return them followed by synthetic ones.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Real windows.
        y : array-like of shape (n_windows,)
            Labels: integers or strings (scalars of one kind); they round-trip
            unchanged.

        Returns
        -------
        X_resampled : ndarray of shape (n_windows + n_synthetic, n_channels, n_times)
            ``X_resampled[:n_windows]`` equals ``X`` exactly, value for value, in the
            dtype the sampler works in: float32 and float64 stay as they are, other
            dtypes (float16, integers of up to 16 bits) come back as float32 (float64 for
            wider integers), which holds their values exactly; big-endian windows come
            back in the machine's byte order.
        y_resampled : ndarray or pandas Series of shape (n_windows + n_synthetic,)
            ``y_resampled[:n_windows]`` equals ``y`` exactly. A pandas Series ``y``
            gives a Series of its dtype and name (with a fresh index), as
            imbalanced-learn's samplers do.
        """
        _reject_fit_params(self, "fit_resample", params)
        inherited = provenance_of(X)  # the output of an earlier sampler of the Pipeline
        y_given = y
        integer_range = _integer_code_range(X)
        X, y = self._check_input(X, y)
        warn_if_record_dropped(self, len(X), inherited, labels=y)
        X_res, y_res = self._fit_resample(X, y, inherited=inherited, integer_range=integer_range)
        return X_res, _labels_like(y_given, y_res)

    def _fit_resample(self, X, y, inherited=None, integer_range=None, **params):
        """Fit on validated windows; return the real ones first, then the synthetic ones.

        When nothing is to be generated (``ratio=0``, or a strategy asking for no
        new window), the generator is not trained at all: a grid search can use
        ``ratio=0`` as its "no augmentation" point without paying for a model.
        """
        counts = self._counts(y)
        with restore_on_failure(self):  # a failed fit leaves the sampler as it was
            self._fit_validated(
                X, y, train_generator=sum(counts.values()) > 0, integer_range=integer_range
            )
        # An interrupted generation leaves the fitted sampler usable. The synthetic
        # windows are written straight after the real ones, so the result is the
        # only full-size array (no concatenation copy).
        n_real = len(X)
        X_res = np.empty((n_real + sum(self.sampling_strategy_.values()), *X.shape[1:]), X.dtype)
        X_res[:n_real] = X
        X_syn, y_syn = self._generate_counts(self.sampling_strategy_, out=X_res[n_real:])
        if n_real + len(y_syn) < len(X_res):  # a generator that made fewer (with a warning)
            X_res = X_res[: n_real + len(y_syn)].copy()
        # so that the library's networks validate on real windows only (utils.provenance)
        n_syn = len(X_res) - n_real
        sources = getattr(self, "last_sources_", None)
        if sources is None or len(sources) != n_syn:
            sources = np.full(n_syn, -1, dtype=np.int64)
        y_res = _concat_labels(y, y_syn)
        record_provenance(X_res, *chain_provenance(inherited, n_real, sources), labels=y_res)
        # travels with the pickled sampler (an imblearn memory cache reloads both)
        self._carry_output_record(X_res)
        return X_res, y_res

    def _fit_quantization(self, X, integer_input=False):
        """``(offset, step)`` of the grid synthetic windows go on, or None.

        Only samplers with a ``quantize`` parameter quantise: ``"auto"`` detects the
        real windows' grid (:func:`~semgaug_sk.augmentation.quantization.detect_quantization`),
        a number is the step of a grid through 0, and None turns it off. Windows given
        with an integer dtype (ADC codes) lie on the integers at least: ``"auto"`` keeps
        that grid where too few values were seen to detect one (a few windows of codes
        spread over the whole range).
        """
        setting = getattr(self, "quantize", None)
        if setting is None:
            return None
        if isinstance(setting, str):  # "auto"
            grid = detect_quantization(X)
            return (0.0, 1.0) if grid is None and integer_input else grid
        return 0.0, float(setting)

    def _to_grid(self, X_syn):
        """Round synthetic windows onto the real ones' grid, in place (see ``quantize``).

        A sampler that keeps its windows non-negative (``_keeps_nonnegative``) keeps
        them so on a grid that misses 0: a value rounded below 0 goes up to the
        lowest level at or above 0.
        """
        codes = getattr(self, "integer_range_", None)  # None in files saved before it
        if codes is not None and len(X_syn):
            np.clip(X_syn, *_representable_bounds(codes, X_syn.dtype), out=X_syn)
        grid = getattr(self, "quantization_", None)
        if grid is not None and len(X_syn):
            # files saved before the levels existed have none: the exact grid then
            levels = getattr(self, "quantization_levels_", None)
            quantize(X_syn, *grid, out=X_syn, levels=levels)
            if self._keeps_nonnegative():
                offset, step = grid
                np.maximum(X_syn, offset + step * np.ceil(-offset / step), out=X_syn)
        return X_syn

    def _check_decided_at_fit(self, names=None):
        """Refuse to generate after ``set_params`` changed a setting that fit decided on
        (of ``names`` only, when given: the settings a call uses)."""
        fitted = getattr(self, "_settings_at_fit", {})  # files and pickles from before: none
        for name, value in fitted.items():
            if names is not None and name not in names:
                continue
            if getattr(self, name) != value:
                raise ValueError(
                    f"{type(self).__name__}: {name} changed since fit ({value!r} was fitted, "
                    f"now {getattr(self, name)!r}); fit decides on the real windows what it "
                    "means, so fit again."
                )

    def _refuse_non_finite(self, X, who, made):
        """Raise when ``X`` (windows this sampler ``made``) holds NaN or inf, with the hint."""
        # min and max carry any NaN or inf, and allocate nothing (a mask would be data-sized)
        if X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
            n_bad = int(X.size - np.count_nonzero(np.isfinite(X)))
            raise FloatingPointError(
                f"{who}{n_bad} {made} value(s) are NaN or infinite{self._non_finite_hint()}"
            )

    def _non_finite_hint(self):
        """What generated NaN or infinite values mean for this sampler, and the fix."""
        return (
            ", so the model behind them diverged in training (a learning rate too high for "
            "these data?). Fit again with a lower lr, or another random_state."
        )

    def _keeps_nonnegative(self):
        """Whether the synthetic windows are kept non-negative (none by default)."""
        return bool(getattr(self, "nonnegative_", False))

    def _generate_counts(self, counts, out=None):
        """Validated ``_generate`` output; with ``out``, the windows lie in ``out[:n]``."""
        self._check_decided_at_fit()
        counts = OrderedDict((c, int(n)) for c, n in counts.items() if int(n) > 0)
        if not counts:
            self._clear_generation_records()
            shape = (0, self.n_channels_, self.n_times_)
            return np.empty(shape, dtype=self.dtype_), np.empty(0, dtype=self.classes_.dtype)
        if "out" in inspect.signature(self._generate).parameters:
            X_syn, y_syn = self._generate(counts, out=out)
        else:  # a subclass written for the original contract, _generate(counts)
            X_syn, y_syn = self._generate(counts)
        X_syn = np.asarray(X_syn, dtype=self.dtype_)
        if out is not None and not np.shares_memory(X_syn, out):
            out[: len(X_syn)] = X_syn
            X_syn = out[: len(X_syn)]
        self._refuse_non_finite(X_syn, f"{type(self).__name__}: ", "generated")
        return self._to_grid(X_syn), np.asarray(y_syn)

    def _clear_generation_records(self):
        """Make the ``last_*`` records describe a generation of no window."""
        if hasattr(self, "last_sources_"):
            self.last_sources_ = np.empty(0, dtype=np.intp)

    #: Attributes holding the numpy Generators that generation draws from (set at fit).
    _generation_streams: tuple = ()

    def generate(self, n_per_class, *, random_state=None):
        """Make synthetic windows only (no real ones).

        Parameters
        ----------
        n_per_class : int, dict or pandas Series
            Windows per class: one int for every class, or ``{class: n}`` (or a
            Series of counts indexed by class, such as ``y.value_counts()``) for
            some of the classes seen at fit.
        random_state : None, int, RandomState or Generator, default=None
            None continues the sampler's own generation stream (seeded at fit by
            ``random_state``), so successive calls give new windows. Anything else
            draws this call from fresh streams seeded by it and leaves the sampler's
            own stream where it was: the same value gives the same windows from one
            fitted sampler, e.g. to compare generation settings on paired draws.
            A subclass lists its streams in ``_generation_streams``; one that lists
            none refuses a seed. A seeded call swaps the streams for its duration,
            so do not make seeded calls on one sampler from several threads at once.

        Returns
        -------
        X_syn : ndarray of shape (n_synthetic, n_channels, n_times)
            Grouped by class. Within a class the windows keep the sampler's order:
            GMSS and SASS return theirs in the order drawn, but a condition sampler
            of your own need not. To keep fewer windows than were made, take a
            random subset, not a slice.
        y_syn : ndarray of shape (n_synthetic,)
        """
        self._check_generator_fitted("generate")
        counts = self._requested_counts(n_per_class, "generate")
        if random_state is None:
            return self._generate_counts(counts)
        with self._seeded_generation(random_state):
            return self._generate_counts(counts)

    def _generation_seed(self, random_state):
        """``generate``'s ``random_state`` as an int seed, or a clear error."""
        try:
            return check_random_state_seed(random_state)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}.generate: {exc}") from None

    @contextlib.contextmanager
    def _seeded_generation(self, random_state):
        """Generation from fresh streams seeded by ``random_state``; the sampler's own
        streams (:attr:`_generation_streams`) are put back afterwards."""
        if not self._generation_streams:
            raise TypeError(
                f"{type(self).__name__}.generate: random_state= reseeds the sampler's "
                "generation streams, and this sampler lists none (_generation_streams); "
                "call generate without random_state, or list the attributes holding its "
                "numpy Generators in _generation_streams."
            )
        seed = self._generation_seed(random_state)
        saved = {name: getattr(self, name) for name in self._generation_streams}
        for i, name in enumerate(self._generation_streams):
            setattr(self, name, np.random.default_rng([seed, i]))
        try:
            yield
        finally:
            for name, stream in saved.items():
                setattr(self, name, stream)

    def _check_generator_fitted(self, method):
        """Refuse ``method`` unless the last fit trained the generator.

        A ``fit_resample`` with nothing to generate (``ratio=0``) records the new windows'
        classes and shape but trains nothing, so what an earlier fit learned must not be
        used with them.
        """
        check_is_fitted(self, "classes_")
        if not self.generator_fitted_:
            raise NotFittedError(
                f"{type(self).__name__}: the last fit_resample had nothing to generate (e.g. "
                f"ratio=0), so no generator was trained. Call fit(X, y) before {method}()."
            )

    def _requested_counts(self, n_per_class, method):
        """``n_per_class`` (an int, or ``{class: n}``) as an OrderedDict in class order."""
        if not isinstance(n_per_class, Mapping) and callable(getattr(n_per_class, "to_dict", None)):
            n_per_class = n_per_class.to_dict()  # a pandas Series, e.g. y.value_counts()
        if not isinstance(n_per_class, Mapping) and not np.isscalar(n_per_class):
            raise ValueError(
                f"{type(self).__name__}.{method}: n_per_class must be an int (windows per "
                f"class) or a dict {{class: n}}; got {n_per_class!r} "
                f"({type(n_per_class).__name__})."
            )
        if isinstance(n_per_class, Mapping):
            unknown = [c for c in n_per_class if c not in set(self.classes_.tolist())]
            if unknown:
                unknown = np.asarray(unknown, dtype=object).tolist()  # 'd', not np.str_('d')
                unknown = [u.item() if isinstance(u, np.generic) else u for u in unknown]
                raise ValueError(
                    f"{type(self).__name__}.{method}: classes {unknown!r} were not seen at fit; "
                    f"choose among {self.classes_.tolist()!r}."
                )
            counts = OrderedDict((c, n_per_class[c]) for c in self.classes_ if c in n_per_class)
        else:
            counts = OrderedDict((c, n_per_class) for c in self.classes_)
        for c, n in counts.items():
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
                label = np.asarray(c).tolist()  # 'fist', not np.str_('fist')
                raise ValueError(
                    f"{type(self).__name__}.{method}: the count for class {label!r} must be a "
                    f"non-negative integer; got {n!r}."
                )
        return counts

    def _check_windows_like_fit(self, X, name="X"):
        """Check that new windows have the channel count and length seen at fit."""
        X = check_windows(X, name=name, estimator=self)
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            raise ValueError(
                f"{type(self).__name__}: {name} has windows of shape {X.shape[1:]}, but the sampler "
                f"was fitted on ({self.n_channels_}, {self.n_times_}). Use the same channels and "
                "window length, or refit."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.input_tags.dataframe = False
        return tags


def _labels_like(y_given, y_res):
    """``y_res`` as a pandas Series when the caller's ``y`` was one (imblearn's behaviour)."""
    pandas = sys.modules.get("pandas")  # a caller with a pandas Series has imported pandas
    if pandas is None or not isinstance(y_given, pandas.Series):
        return y_res
    return pandas.Series(y_res, dtype=y_given.dtype, name=y_given.name)


def _concat_labels(y_real, y_syn):
    """Concatenate labels keeping the real labels' dtype family (strings stay strings)."""
    y_syn = np.asarray(y_syn)
    if y_real.dtype == object or y_syn.dtype == object:
        return np.concatenate([y_real.astype(object), y_syn.astype(object)])
    return np.concatenate([y_real, y_syn.astype(y_real.dtype, copy=False)])


#: ``(windows, (lowest, highest))``: the validated windows of the sampler being fitted and
#: their integer type's range, when they were given as integers (None otherwise): a sampler
#: fitting its parts on the same array (ComposedAugmenter) passes them the float copy,
#: whose dtype no longer says so.
_INTEGER_WINDOWS: contextvars.ContextVar = contextvars.ContextVar(
    "semgaug_integer_windows", default=None
)


def _representable_bounds(codes, dtype):
    """``codes``' ``(lowest, highest)`` as ``dtype`` values inside the range: int64's
    highest, 2**63 - 1, rounds up to 2**63 in float64, which a cast back wraps round."""
    lowest, highest = (dtype.type(v) for v in codes)
    if int(highest) > codes[1]:
        highest = np.nextafter(highest, dtype.type(-np.inf))
    if int(lowest) < codes[0]:
        lowest = np.nextafter(lowest, dtype.type(np.inf))
    return lowest, highest


def _integer_code_range(X):
    """``(lowest, highest)`` of ``X``'s integer dtype when it was given as integers (e.g.
    int16 ADC codes) or is the float copy of such windows that an enclosing sampler is
    fitting on; None otherwise."""
    marked = _INTEGER_WINDOWS.get()
    if marked is not None and X is marked[0]:
        return marked[1]
    dtype = getattr(X, "dtype", None)
    if dtype is not None and not isinstance(dtype, np.dtype):
        try:  # a torch tensor and the like: the numpy dtype its windows convert to
            dtype = np.asarray(X[:0]).dtype
        except Exception:  # sparse, meta, ...: check_windows says what to do
            return None
    if dtype is None or not np.issubdtype(dtype, np.integer):
        return None
    limits = np.iinfo(dtype)
    return int(limits.min), int(limits.max)
