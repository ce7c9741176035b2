"""A seeded simulator of multi-channel surface-EMG gesture recordings."""

from __future__ import annotations

import numbers

import numpy as np
from scipy import signal
from sklearn.utils import Bunch, check_random_state

from semgaug_sk.utils.validation import check_positive_int

__all__ = ["make_semg_gestures"]

_NAME = "make_semg_gestures"


def _check_nonneg(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{_NAME}: {name} must be a finite number >= 0; got {value!r}.")
    return float(value)


def _check_pos(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{_NAME}: {name} must be a finite number > 0; got {value!r}.")
    return float(value)


def _class_patterns(rng, n_classes):
    """Per class: bump centres (rad), concentrations, heights and a co-activation floor.

    The main bumps of the classes are spread around the ring (a random permutation
    of evenly spaced positions, jittered by up to a quarter spacing), so that the
    difficulty does not hinge on two classes landing on the same muscle by chance;
    half of the classes recruit a second, weaker muscle anywhere on the ring.
    """
    spacing = 2 * np.pi / n_classes
    main = rng.permutation(n_classes) * spacing + rng.uniform(-0.25, 0.25, n_classes) * spacing
    patterns = []
    for k in range(n_classes):
        second = rng.uniform() < 0.5
        patterns.append(
            dict(
                centre=np.r_[main[k], rng.uniform(0.0, 2 * np.pi)][: 1 + second],
                kappa=rng.uniform(1.5, 4.0, 1 + second),
                height=np.r_[rng.uniform(0.7, 1.0), rng.uniform(0.3, 0.6)][: 1 + second],
                floor=rng.uniform(0.05, 0.2),
            )
        )
    return patterns


def _ring_activation(pattern, theta, shift=0.0):
    """Activation of each electrode at angles ``theta`` for a pattern rotated by ``shift``."""
    d = theta[:, None] - (pattern["centre"][None, :] + shift)
    bumps = pattern["height"] * np.exp(pattern["kappa"] * (np.cos(d) - 1.0))
    return pattern["floor"] + bumps.sum(axis=1)


def _unit_band_noise(rng, n, n_channels, sos):
    """Zero-phase band-limited Gaussian noise, scaled to unit variance per channel."""
    x = signal.sosfiltfilt(sos, rng.standard_normal((n, n_channels)), axis=0)
    return x / x.std(axis=0, keepdims=True)


def _ramp_envelope(n, n_ramp):
    """A plateau of ones with raised-cosine onset and offset of ``n_ramp`` samples each."""
    env = np.ones(n)
    n_ramp = min(n_ramp, n // 2)
    if n_ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_ramp) + 0.5) / n_ramp)
        env[:n_ramp] = rise
        env[n - n_ramp :] = rise[::-1]
    return env


def make_semg_gestures(
    n_subjects=1,
    n_classes=6,
    n_repetitions=6,
    n_channels=8,
    fs=1000.0,
    *,
    gesture_duration=1.0,
    rest_duration=0.5,
    ramp_duration=0.15,
    duration_jitter=0.15,
    band=(20.0, 450.0),
    noise_level=0.05,
    amplitude_jitter=0.2,
    pattern_jitter=0.2,
    rotation_jitter=0.2,
    force_fluctuation=0.2,
    subject_rotation=0.5,
    subject_gain=0.3,
    crosstalk=0.2,
    powerline_amplitude=0.0,
    powerline_freq=50.0,
    random_state=None,
):
    """Simulate a multi-channel sEMG recording of repeated gestures with rest between them.

    Electrodes sit on a ring, as on an armband. Each gesture has a smooth
    activation pattern over the ring (one or two von Mises "muscle" bumps on a
    co-activation floor) that scales unit-variance band-limited Gaussian noise,
    under a raised-cosine onset/offset envelope with slow force fluctuations.
    Neighbouring channels share crosstalk, and low-level sensor noise runs
    throughout, so rest (label 0) between repetitions is near-silent noise.

    Variability is what makes the task realistic: per repetition the gain, the
    duration, a small rotation of the pattern and a per-channel multiplicative
    jitter change; per subject the armband rotation and the channel gains
    change (class patterns are shared by all subjects, like muscles).

    Parameters
    ----------
    n_subjects : int, default=1
        Number of simulated subjects, numbered 1..n_subjects.
    n_classes : int, default=6
        Number of gestures, labelled 1..n_classes (0 is rest).
    n_repetitions : int, default=6
        Repetitions of each gesture, numbered 1..n_repetitions. Each repetition
        performs all gestures in the order 1..n_classes, with rest between.
    n_channels : int, default=8
        Electrodes, evenly spaced on the ring.
    fs : float, default=1000.0
        Sampling rate in Hz.
    gesture_duration : float, default=1.0
        Mean gesture duration in seconds (onset and offset included).
    rest_duration : float, default=0.5
        Mean rest duration in seconds before each gesture and at the end.
    ramp_duration : float, default=0.15
        Length in seconds of the raised-cosine onset and of the offset.
    duration_jitter : float, default=0.15
        Log-normal spread of gesture and rest durations (0 = fixed; at most 2).
    band : tuple of float, default=(20.0, 450.0)
        Pass band of the muscle noise in Hz. The upper edge is lowered to 0.9 times
        the Nyquist frequency when ``fs`` is low.
    noise_level : float, default=0.05
        Standard deviation of the white sensor noise (a full activation has
        amplitude of order 1).
    amplitude_jitter : float, default=0.2
        Log-normal spread of the per-repetition gain.
    pattern_jitter : float, default=0.2
        Log-normal spread of the per-repetition, per-channel gain of the pattern.
    rotation_jitter : float, default=0.2
        Standard deviation in radians of the per-repetition rotation of the
        pattern on the ring (forearm pronation, electrode slip).
    force_fluctuation : float, default=0.2
        Relative standard deviation of slow (< 2 Hz) force changes within a gesture.
    subject_rotation : float, default=0.5
        Standard deviation in radians of each subject's armband rotation.
    subject_gain : float, default=0.3
        Log-normal spread of each subject's per-channel gains (skin, fat, contact).
    crosstalk : float, default=0.2
        Share of each channel's signal picked up by its two neighbours, in [0, 0.5).
    powerline_amplitude : float, default=0.0
        Amplitude of added powerline interference (off by default).
    powerline_freq : float, default=50.0
        Powerline frequency in Hz (must be below the Nyquist frequency when
        ``powerline_amplitude > 0``).
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same recording.

    Returns
    -------
    recording : sklearn.utils.Bunch
        - ``emg`` : ndarray (n_samples, n_channels) float32.
        - ``fs`` : float.
        - ``label`` : ndarray (n_samples,) int64, 0 = rest, 1..n_classes.
        - ``repetition`` : ndarray (n_samples,) int64, 1..n_repetitions; 0 during
          rest (as in NinaPro).
        - ``subject`` : ndarray (n_samples,) int64, 1..n_subjects.
        - ``session`` : ndarray (n_samples,) int64, all 0 (one session).
        - ``block`` : ndarray (n_samples,) int64, ``subject - 1``: each subject is a
          separately generated stream.
        - ``rest_label`` : 0, which :func:`~semgaug_sk.windows.sliding_windows`
          drops by default.
        - ``channel_names``, ``label_names``, ``class_patterns``
          (n_classes, n_channels): each gesture's mean activation before subject
          and repetition effects.

    Raises
    ------
    ValueError
        For a non-positive count, rate or duration, a negative spread, a band
        that does not fit below the Nyquist frequency, or crosstalk outside
        [0, 0.5).

    Notes
    -----
    With the defaults, one subject lasts about 55 s (6 gestures x 6 repetitions)
    and ``sliding_windows(rec, window_ms=200, step_ms=100)`` gives about 310
    gesture windows; generation takes about 0.1 s on one CPU core.

    The default variability was tuned so that classical features separate the
    classes well but not perfectly: LDA on Hudgins features (MAV, WL, ZC, SSC per
    channel; 200 ms windows, 100 ms step, rest excluded) trained on repetitions
    1-3 and tested on 4-6 scores 83.1 % +- 6.3 % (mean +- sd over
    ``random_state`` 0..19; range 70-93 %); 84.8 % +- 6.1 % with ``fs=200``.
    ``tests/test_datasets.py::test_simulator_difficulty`` repeats this
    measurement on five seeds (``pytest tests/test_datasets.py -k difficulty``).

    Examples
    --------
    >>> from semgaug_sk.datasets import make_semg_gestures
    >>> rec = make_semg_gestures(n_classes=3, n_repetitions=2, random_state=0)
    >>> rec.emg.shape[1], rec.fs, sorted(set(rec.label.tolist()))
    (8, 1000.0, [0, 1, 2, 3])
    """
    n_subjects = check_positive_int(n_subjects, f"{_NAME}: n_subjects")
    n_classes = check_positive_int(n_classes, f"{_NAME}: n_classes")
    n_repetitions = check_positive_int(n_repetitions, f"{_NAME}: n_repetitions")
    n_channels = check_positive_int(n_channels, f"{_NAME}: n_channels")
    fs = _check_pos(fs, "fs")
    gesture_duration = _check_pos(gesture_duration, "gesture_duration")
    rest_duration = _check_pos(rest_duration, "rest_duration")
    ramp_duration = _check_nonneg(ramp_duration, "ramp_duration")
    spreads = {
        name: _check_nonneg(value, name)
        for name, value in dict(
            duration_jitter=duration_jitter,
            noise_level=noise_level,
            amplitude_jitter=amplitude_jitter,
            pattern_jitter=pattern_jitter,
            rotation_jitter=rotation_jitter,
            force_fluctuation=force_fluctuation,
            subject_rotation=subject_rotation,
            subject_gain=subject_gain,
            powerline_amplitude=powerline_amplitude,
        ).items()
    }
    if spreads["duration_jitter"] > 2:
        # a log-normal tail: at 5 one subject's recording drew ~68 M samples (out of memory)
        raise ValueError(
            f"{_NAME}: duration_jitter must be in [0, 2]; got {duration_jitter}. It is the "
            "log-normal spread of the durations: 2 already draws them between 1/55 and 55 "
            "times gesture_duration / rest_duration (2 sd), and larger spreads make "
            "recordings of unbounded length."
        )
    crosstalk = _check_nonneg(crosstalk, "crosstalk")
    if crosstalk >= 0.5:
        raise ValueError(f"{_NAME}: crosstalk must be in [0, 0.5); got {crosstalk}.")
    try:
        low, high = (float(b) for b in band)
    except (TypeError, ValueError):
        raise ValueError(f"{_NAME}: band must be a pair (low_hz, high_hz); got {band!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        raise ValueError(
            f"{_NAME}: band={tuple(band)} must be (low_hz, high_hz) with 0 < low_hz < high_hz; "
            "give the lower edge first."
        )
    nyquist = fs / 2.0
    high = min(high, 0.9 * nyquist)
    if not low < high:
        raise ValueError(
            f"{_NAME}: band={tuple(band)} does not fit below 0.9 x Nyquist = {0.9 * nyquist:g} Hz at "
            f"fs={fs:g} Hz; lower band[0] or raise fs."
        )
    if spreads["powerline_amplitude"] > 0:
        powerline_freq = _check_pos(powerline_freq, "powerline_freq")
        if powerline_freq >= nyquist:
            raise ValueError(
                f"{_NAME}: powerline_freq={powerline_freq:g} Hz is not below the Nyquist frequency "
                f"{nyquist:g} Hz of fs={fs:g}; raise fs or leave powerline_amplitude=0."
            )
    n_gesture = max(int(round(gesture_duration * fs)), 1)
    n_rest = max(int(round(rest_duration * fs)), 1)

    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise ValueError(
            f"{_NAME}: random_state must be None, an int or a numpy RandomState; got "
            f"{random_state!r}. Pass e.g. random_state=0 for a reproducible recording."
        ) from None
    sos_band = signal.butter(4, [low, high], btype="bandpass", fs=fs, output="sos")
    sos_force = signal.butter(2, min(2.0, 0.2 * fs), btype="lowpass", fs=fs, output="sos")
    theta = 2 * np.pi * np.arange(n_channels) / n_channels
    patterns = _class_patterns(rng, n_classes)
    mixing = np.eye(n_channels)
    if n_channels > 1:
        ring = np.roll(np.eye(n_channels), 1, axis=1) + np.roll(np.eye(n_channels), -1, axis=1)
        mixing = (1 - crosstalk) * mixing + crosstalk * np.minimum(ring, 1) / 2

    def draw_length(n_mean):
        return max(
            int(round(n_mean * np.exp(spreads["duration_jitter"] * rng.standard_normal()))), 1
        )

    parts = []
    for s in range(n_subjects):
        s_rotation = spreads["subject_rotation"] * rng.standard_normal()
        s_gain = np.exp(spreads["subject_gain"] * rng.standard_normal(n_channels))
        # timeline: rest, then (gesture, rest) for every repetition and class
        segments = [(0, 0, draw_length(n_rest))]
        for r in range(1, n_repetitions + 1):
            for k in range(1, n_classes + 1):
                segments.append((k, r, draw_length(n_gesture)))
                segments.append((0, 0, draw_length(n_rest)))
        lengths = np.array([seg[2] for seg in segments])
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        n = int(lengths.sum())
        # sosfiltfilt pads by 3 * (2 * sections + 1) samples and needs more than that
        n_min = 3 * (2 * max(len(sos_band), len(sos_force)) + 1) + 1
        if n < n_min:
            raise ValueError(
                f"make_semg_gestures: a subject's recording would hold {n} samples, too few to "
                f"filter (at least {n_min} are needed). Lengthen gesture_duration or "
                "rest_duration, raise n_repetitions or n_classes, or raise fs."
            )
        label = np.repeat([seg[0] for seg in segments], lengths).astype(np.int64)
        repetition = np.repeat([seg[1] for seg in segments], lengths).astype(np.int64)

        force = signal.sosfiltfilt(sos_force, rng.standard_normal(n))
        force = 1.0 + spreads["force_fluctuation"] * force / max(force.std(), 1e-12)
        amplitude = np.zeros((n, n_channels))
        for (k, _, length), start in zip(segments, starts, strict=True):
            if k == 0:
                continue
            shift = s_rotation + spreads["rotation_jitter"] * rng.standard_normal()
            gain = np.exp(spreads["amplitude_jitter"] * rng.standard_normal())
            jitter = np.exp(spreads["pattern_jitter"] * rng.standard_normal(n_channels))
            spatial = gain * jitter * _ring_activation(patterns[k - 1], theta, shift)
            envelope = _ramp_envelope(length, int(round(ramp_duration * fs)))
            amplitude[start : start + length] = envelope[:, None] * spatial[None, :]
        amplitude *= np.clip(force, 0.0, None)[:, None]

        emg = amplitude * _unit_band_noise(rng, n, n_channels, sos_band)
        emg = emg @ mixing.T
        emg *= s_gain
        emg += spreads["noise_level"] * rng.standard_normal((n, n_channels))
        if spreads["powerline_amplitude"] > 0:
            phase = rng.uniform(0, 2 * np.pi)
            hum = np.sin(2 * np.pi * powerline_freq * np.arange(n) / fs + phase)
            emg += spreads["powerline_amplitude"] * hum[:, None]
        parts.append((emg.astype(np.float32), label, repetition, np.full(n, s + 1, dtype=np.int64)))

    emg, label, repetition, subject = (np.concatenate(a) for a in zip(*parts, strict=True))
    class_patterns = np.stack([_ring_activation(p, theta) for p in patterns])
    return Bunch(
        emg=emg,
        fs=fs,
        label=label,
        repetition=repetition,
        subject=subject,
        session=np.zeros(len(label), dtype=np.int64),
        channel_names=tuple(f"ch{c}" for c in range(n_channels)),
        rest_label=0,
        label_names={0: "rest", **{k: f"gesture {k}" for k in range(1, n_classes + 1)}},
        block=subject - 1,
        class_patterns=class_patterns,
    )
