"""Per-channel normalisation of the generator's windows, with non-negative data in mind.

An envelope (e.g. NinaPro DB1) is non-negative; a generator trained on
standardised windows can return small negative values. ``"clip"`` clips them
after de-normalising; ``"log"`` models ``log1p(x / m_c)`` (``m_c`` the channel
mean), which also compresses the envelope's long tail, and maps back.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from ..preprocessing import WindowStandardizer, relative_threshold, standardised_rows
from ..utils.chunked import channel_mean_std, map_rows, row_blocks
from ..utils.validation import caller_stacklevel

__all__ = [
    "denormalise",
    "fit_normalisation",
    "normalise",
    "rescaled_normalisation",
    "with_flat_channels_of",
]


def nonnegative_mode(nonnegative):
    """The mode a ``nonnegative`` parameter names: True is ``"clip"``, False ``"none"``.

    :class:`~semgaug_sk.augmentation.ClassicAugmenter` takes a bool for the same
    choice, so a generator takes one too; a string passes unchanged.

    Examples
    --------
    >>> nonnegative_mode(True), nonnegative_mode(False), nonnegative_mode("log")
    ('clip', 'none', 'log')
    """
    if isinstance(nonnegative, (bool, np.bool_)):
        return "clip" if nonnegative else "none"
    return nonnegative


def fit_normalisation(X, nonnegative="auto"):
    """Fit the normalisation of windows ``X`` and return them normalised.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    nonnegative : {"auto", "clip", "log", "none"} or bool, default="auto"
        ``"auto"`` is ``"clip"`` when every value of ``X`` is >= 0, else ``"none"``;
        True is ``"clip"`` and False ``"none"`` (:func:`nonnegative_mode`).

    Returns
    -------
    Xn : ndarray of float32, same shape as ``X``
    state : dict
        ``nonnegative_`` (the resolved mode), ``log_scale_`` (channel means of
        the ``"log"`` mode, else None), ``window_scaler_`` (a fitted
        :class:`~semgaug_sk.preprocessing.WindowStandardizer`) and
        ``flat_channels_`` (channels with no variation, relative to the
        liveliest channel: :func:`denormalise` keeps them at their constant
        instead of scaling model noise by 1 in the data's units).

    Examples
    --------
    >>> X = np.abs(np.random.default_rng(0).normal(size=(6, 2, 8)))
    >>> Xn, state = fit_normalisation(X)
    >>> state["nonnegative_"], bool(np.allclose(denormalise(Xn.astype(float), state), X, atol=1e-5))
    ('clip', True)
    """
    mode = nonnegative_mode(nonnegative)
    if mode == "auto":
        mode = "clip" if float(X.min()) >= 0 else "none"
    log_scale = None
    Z = X  # float64 block by block below: no data-sized float64 copy in the default modes
    if mode == "log":
        scale = channel_mean_std(X)[0]
        log_scale = np.where(scale > 0, scale, 1.0)
        Z = map_rows(lambda block: np.log1p(block / log_scale[:, None]), X, np.float64)
    mean, std = channel_mean_std(Z)
    warn_dominant_windows(Z, mean, std)
    # eps is relative to the liveliest channel, as the flat channels below
    scaler = WindowStandardizer(per="channel", eps=_FLAT_FRACTION).fit(Z)
    state = {
        "nonnegative_": mode,
        "log_scale_": log_scale,
        "window_scaler_": scaler,
        "flat_channels_": std < _flat_threshold(std),
    }
    return _standardised(Z, scaler), state


#: Fewest windows for which one window holding most of a channel's variance is an artifact.
_MIN_WINDOWS_FOR_DOMINANCE = 20


def warn_dominant_windows(X, mean, std):
    """Warn when one window holds more than half of a channel's variance: a spike.

    The generator scales each channel by its standard deviation over all windows; one
    artifact (a spike, a cable knock) inflates it, the clean windows are squeezed towards
    0 in the network's space, and its synthetic windows on that channel come out orders
    of magnitude too loud. Among at least 20 windows, no window of a recording holds half
    of a channel's variance unless something is wrong with it.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(40, 2, 10))
    >>> X[7, 1, 3] = 1e3
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn_dominant_windows(X, X.mean(axis=(0, 2)), X.std(axis=(0, 2)))
    >>> "channel(s) [1]" in str(seen[0].message)
    True
    """
    n, n_channels, n_times = X.shape
    if n < _MIN_WINDOWS_FOR_DOMINANCE:
        return
    largest, where = np.zeros(n_channels), np.zeros(n_channels, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # inf energies compare as no finding
        for rows in row_blocks(n, n_channels * n_times):
            block = np.asarray(X[rows], dtype=np.float64) - mean[:, None]
            energy = np.einsum("nct,nct->nc", block, block)
            top = energy.argmax(axis=0)
            better = energy[top, np.arange(n_channels)] > largest
            largest[better] = energy[top, np.arange(n_channels)][better]
            where[better] = rows.start + top[better]
        total = n * n_times * np.square(std)  # the channel's sum of squares about its mean
        share = np.divide(largest, total, out=np.zeros(n_channels), where=total > 0)
    bad = np.flatnonzero(share > 0.5)
    if len(bad):
        worst = [f"channel {c}: window {int(where[c])}, {share[c]:.0%}" for c in bad]
        warnings.warn(
            f"Diffusion generator: on channel(s) {bad.tolist()}, one of the {n} training windows "
            f"holds more than half of the channel's variance ({'; '.join(worst)}): a spike or "
            "an artifact. The generator scales each channel by its standard deviation, so its "
            "synthetic windows on that channel would come out far too loud. Remove or clip the "
            "artifact before augmenting.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


#: A channel is flat when its sd is at most this fraction of the liveliest channel's.
_FLAT_FRACTION = 1e-8


def _flat_threshold(std):
    # "no variation" is relative to the data's own scale: recordings in volts have
    # channel sds of 1e-5, and an absolute threshold would call them all flat
    return relative_threshold(std, _FLAT_FRACTION)


def _standardised(Z, scaler, log_scale=None):
    """``Z`` standardised by the fitted ``scaler`` (after ``log1p`` when given a log scale), float32."""

    def log_map(block):
        np.clip(block, 0, None, out=block)
        block /= log_scale[:, None]
        np.log1p(block, out=block)

    before = None if log_scale is None else log_map
    return standardised_rows(Z, scaler.mean_, scaler.scale_, np.float32, before)


def denormalise(Xn, state):
    """Map normalised windows back to the data's scale (float64), kept non-negative if asked.

    Parameters
    ----------
    Xn : ndarray of shape (n, n_channels, n_times)
    state : dict or object
        :func:`fit_normalisation`'s state, as a dict or as attributes.

    Returns
    -------
    X : ndarray of shape (n, n_channels, n_times)

    Examples
    --------
    >>> _, state = fit_normalisation(np.arange(8.0).reshape(2, 1, 4), "clip")
    >>> float(denormalise(np.full((1, 1, 4), -10.0), state).min())
    0.0
    >>> _, flat = fit_normalisation(np.ones((2, 1, 4)), "clip")  # no variation: kept at 1
    >>> float(denormalise(np.full((1, 1, 4), -10.0), flat).min())
    1.0
    """
    get = state.get if isinstance(state, dict) else lambda name: getattr(state, name, None)
    scaler, mode = get("window_scaler_"), get("nonnegative_")
    scale = scaler.scale_
    flat = get("flat_channels_")  # None for a generator fitted before it was recorded
    if flat is not None:
        scale = np.where(flat, 0.0, scale)  # a dead electrode stays at its constant
    Z = Xn * scale[:, None] + scaler.mean_[:, None]
    if mode == "log":
        Z = np.expm1(Z) * get("log_scale_")[:, None]
    if mode in ("clip", "log"):
        Z = np.clip(Z, 0, None)
    return Z


def normalise(X, state):
    """Map windows in the data's scale into the generator's normalised space (float32).

    The inverse of :func:`denormalise` on values it can produce: the ``"log"`` mode's
    ``log1p(x / m_c)``, then the per-channel standardisation fitted by
    :func:`fit_normalisation`.

    Parameters
    ----------
    X : ndarray of shape (n, n_channels, n_times)
    state : dict or object
        :func:`fit_normalisation`'s state, as a dict or as attributes.

    Returns
    -------
    Xn : ndarray of float32, same shape as ``X``

    Examples
    --------
    >>> X = np.abs(np.random.default_rng(0).normal(size=(6, 2, 8)))
    >>> Xn, state = fit_normalisation(X, "log")
    >>> bool(np.allclose(normalise(X, state), Xn, atol=1e-6))
    True
    """
    get = state.get if isinstance(state, dict) else lambda name: getattr(state, name, None)
    log_scale = get("log_scale_") if get("nonnegative_") == "log" else None
    scaler = get("window_scaler_")
    # the scaler's own checks: finite values, the channels of the fit
    X3, _ = scaler._check_transform_input(X, check_names=False)
    return _standardised(X3, scaler, log_scale)


def rescaled_normalisation(state, gain):
    """The normalisation ``state`` of windows ``x / gain``, as a normalisation of ``x``.

    A generator pretrained on windows divided by their subject's channel RMS (a
    population prior) and fine-tuned on a new subject's windows should go on working in
    the data space it was trained in, rather than in one refitted on the new windows:
    ``normalise(x, rescaled_normalisation(state, g)) == normalise(x / g, state)``, and
    :func:`denormalise` returns windows in ``x``'s units.

    Parameters
    ----------
    state : dict or object
        :func:`fit_normalisation`'s state, as a dict or as attributes.
    gain : array-like of shape (n_channels,)
        Positive per-channel gain of ``x`` relative to the data ``state`` was fitted on.

    Returns
    -------
    state : dict
        A new state; ``state`` is left unchanged.

    Examples
    --------
    >>> X = np.abs(np.random.default_rng(0).normal(size=(6, 2, 8)))
    >>> _, state = fit_normalisation(X, "log")
    >>> gain = np.array([1e-3, 20.0])
    >>> rescaled = rescaled_normalisation(state, gain)
    >>> bool(np.allclose(normalise(X * gain[:, None], rescaled), normalise(X, state), atol=1e-6))
    True
    """
    get = state.get if isinstance(state, dict) else lambda name: getattr(state, name, None)
    gain = np.asarray(gain, dtype=np.float64)
    scaler = copy.deepcopy(get("window_scaler_"))
    if gain.shape != scaler.mean_.shape or not (np.isfinite(gain).all() and (gain > 0).all()):
        raise ValueError(
            f"rescaled_normalisation: gain must hold one positive, finite value per channel "
            f"({scaler.mean_.shape[0]}); got {gain!r}."
        )
    mode, log_scale = get("nonnegative_"), get("log_scale_")
    if mode == "log":  # log1p(x / (g m)) == log1p((x / g) / m): the standardisation stays
        log_scale = log_scale * gain
    else:
        scaler.mean_ = scaler.mean_ * gain
        scaler.scale_ = scaler.scale_ * gain
    flat = get("flat_channels_")
    return {
        "nonnegative_": mode,
        "log_scale_": log_scale,
        "window_scaler_": scaler,
        "flat_channels_": None if flat is None else np.array(flat),
    }


def with_flat_channels_of(state, X):
    """``state`` with ``X``'s flat channels: pinned at ``X``'s constant, the others free.

    A generator fine-tuned from another one's normalisation (:func:`rescaled_normalisation`)
    makes windows of ``X``'s recording, so ``X`` decides which electrodes are dead: a
    channel flat in the data ``state`` was fitted on but alive in ``X`` is generated, not
    pinned at a constant, and a channel flat in ``X`` is pinned at ``X``'s own constant
    rather than at the other data's mean.

    Parameters
    ----------
    state : dict
        A normalisation state (:func:`fit_normalisation`, :func:`rescaled_normalisation`);
        left unchanged.
    X : ndarray of shape (n_windows, n_channels, n_times)
        The windows the generator is fine-tuned on, in the units of ``state``.

    Returns
    -------
    state : dict
        A new state.

    Examples
    --------
    >>> X = np.abs(np.random.default_rng(0).normal(size=(6, 2, 8)))
    >>> _, state = fit_normalisation(X)
    >>> target = X.copy()
    >>> target[:, 1] = 0.25  # a dead electrode in the new recording
    >>> pinned = with_flat_channels_of(state, target)
    >>> pinned["flat_channels_"].tolist(), float(denormalise(np.ones((1, 2, 8)), pinned)[0, 1, 0])
    ([False, True], 0.25)
    """
    mean, std = channel_mean_std(X)
    flat = std < _flat_threshold(std)
    scaler = copy.deepcopy(state["window_scaler_"])
    if flat.any():
        constant = mean[flat]
        if state["nonnegative_"] == "log":  # denormalise maps mean_ through expm1(.) * m_c
            constant = np.log1p(np.clip(constant, 0, None) / state["log_scale_"][flat])
        scaler.mean_ = np.array(scaler.mean_, dtype=np.float64)
        scaler.mean_[flat] = constant
    return {**state, "window_scaler_": scaler, "flat_channels_": flat}
