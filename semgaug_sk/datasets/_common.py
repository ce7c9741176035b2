"""Helpers shared by the dataset loaders: path checks, natural sorting, recording assembly."""

from __future__ import annotations

import numbers
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["natural_key", "check_existing_path", "as_int_filter", "assemble_recording"]


def natural_key(text: str):
    """Sort key that orders embedded numbers numerically ("Male2" < "Male10")."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", str(text))]


def check_existing_path(path, *, loader: str) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, raising a clear error when it does not exist."""
    if path is None:
        raise ValueError(f"{loader}: path is None; pass the data file or folder to read.")
    if isinstance(path, (str, bytes)) and not path.strip():
        # Path("") is the current directory: an unset variable would read whatever is there
        raise ValueError(
            f"{loader}: path is an empty string; pass the data file or folder to read (use "
            "'.' for the current directory)."
        )
    try:
        path = Path(path).expanduser()
    except TypeError:
        raise TypeError(
            f"{loader}: path must be a str or path-like object naming the data file or folder; "
            f"got {path!r} ({type(path).__name__})."
        ) from None
    if not path.exists():
        raise FileNotFoundError(
            f"{loader}: {path} does not exist. Check the path (it is resolved relative to the "
            f"current directory {Path.cwd()})."
        )
    return path


def as_fs(fs, *, loader: str) -> float:
    """``fs`` as a positive finite float (Hz), or a clear error; a bool or a string is refused
    (``float(True)`` is 1 Hz, ``float("100")`` hides a type error)."""
    try:
        if isinstance(fs, (bool, str, bytes)):
            raise TypeError
        fs = float(fs)
    except (TypeError, ValueError):
        raise TypeError(f"{loader}: fs must be a number in Hz; got {fs!r}.") from None
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{loader}: fs must be a positive number of Hz; got {fs}.")
    return fs


def as_int_filter(values, *, name: str, loader: str):
    """Turn ``None``, an int or an iterable of ints into ``None`` or a sorted tuple of ints."""
    if values is None:
        return None
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        return (int(values),)
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{loader}: {name} must be an int or an iterable of ints; got the string {values!r}."
        )
    try:
        items = list(values)
    except TypeError:
        raise TypeError(
            f"{loader}: {name} must be None, an int or an iterable of ints; got {values!r}."
        ) from None
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{loader}: {name} must contain integers; got {v!r} in {values!r}.")
        out.append(int(v))
    if not out:
        raise ValueError(
            f"{loader}: {name} is empty; pass None to load all, or at least one value."
        )
    return tuple(sorted(set(out)))


def assemble_recording(parts, *, fs: float, loader: str, **meta) -> Bunch:
    """Concatenate per-file parts into one recording Bunch.

    Parameters
    ----------
    parts : list of dict
        Each with ``name`` (the file), ``emg`` (n, ch) and per-sample (or scalar,
        broadcast) ``label``, ``repetition``, ``subject``, ``session`` and any
        further per-sample keys listed in ``extra_keys`` of the first part.
    fs : float
        Sampling rate of every part.
    loader : str
        Name used in error messages.
    **meta
        Further Bunch entries (channel names, file list, ...).

    Returns
    -------
    recording : Bunch
        With ``emg`` float32, ``fs``, the per-sample int64 arrays and ``block``,
        the index of the part (file) each sample comes from.
    """
    if not parts:
        raise ValueError(f"{loader}: nothing to load.")
    by_count = {}
    for p in parts:
        by_count.setdefault(p["emg"].shape[1], []).append(str(p["name"]))
    if len(by_count) > 1:
        detail = "; ".join(
            f"{n} channels: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for n, names in sorted(by_count.items())
        )
        raise ValueError(
            f"{loader}: the files have different channel counts ({detail}). A recording needs one "
            "channel layout; load the groups separately (e.g. with subjects=...)."
        )
    keys = ("label", "repetition", "subject", "session") + tuple(parts[0].get("extra_keys", ()))
    lengths = [p["emg"].shape[0] for p in parts]
    rec = Bunch(
        emg=np.concatenate([np.asarray(p["emg"], dtype=np.float32) for p in parts], axis=0),
        fs=float(fs),
    )
    for key in keys:
        rec[key] = np.concatenate(
            [
                np.full(n, p[key], dtype=np.int64)
                if np.ndim(p[key]) == 0
                else np.asarray(p[key], dtype=np.int64)
                for p, n in zip(parts, lengths, strict=True)
            ]
        )
    rec["block"] = np.repeat(np.arange(len(parts), dtype=np.int64), lengths)
    rec.update(meta)
    return rec
