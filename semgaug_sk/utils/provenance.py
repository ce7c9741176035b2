"""Which rows of a resampled window set are real: honest early stopping after augmentation.

A sampler's ``fit_resample`` returns the real windows first, then synthetic ones. A
network fitted on that array must not choose its stopping epoch on synthetic windows,
nor on real windows whose augmented copies it trains on. Inside an
``imblearn.pipeline.Pipeline`` the network only receives ``(X, y)``, so the samplers of
this library record, for the exact array they return, how many rows are real and which
real window each synthetic row was made from; the library's networks look that record
up at ``fit`` and hold out real windows only, dropping the synthetic rows made from
them (:meth:`semgaug_sk.base.BaseWindowNet._validation_split`).

The record is keyed by the array object itself and disappears with it. An array that is
copied, sliced or transformed on the way has no record, and the network falls back to
its plain split.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Provenance",
    "current_provenance",
    "fitting_on",
    "provenance_of",
    "record_provenance",
]


@dataclass(frozen=True)
class Provenance:
    """Where the rows of a resampled window set come from.

    Parameters
    ----------
    n_real : int
        The first ``n_real`` rows are the real windows.
    sources : ndarray of int of shape (n_rows - n_real,)
        For each synthetic row, the index of the real window it was made from, or -1
        when it comes from no single real window (a generative model's sample).

    Examples
    --------
    >>> p = Provenance(3, np.array([0, -1]))
    >>> p.n_rows, p.is_real.tolist()
    (5, [True, True, True, False, False])
    """

    n_real: int
    sources: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.n_real + len(self.sources)

    @property
    def is_real(self) -> np.ndarray:
        return np.arange(self.n_rows) < self.n_real

    def rows_made_from(self, real_rows) -> np.ndarray:
        """Synthetic rows made from any of ``real_rows`` (indices into the whole set)."""
        made = np.isin(self.sources, np.asarray(real_rows))
        return self.n_real + np.flatnonzero(made)


_RECORDS: dict[int, tuple[weakref.ref, Provenance]] = {}
_FITTING_ON: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar(
    "semgaug_fitting_on", default=None
)


def record_provenance(X, n_real, sources=None) -> None:
    """Record that the first ``n_real`` rows of the array ``X`` are real.

    Parameters
    ----------
    X : ndarray
        The resampled array, exactly as it is returned to the caller.
    n_real : int
    sources : array-like of int, optional
        Source real window of each synthetic row (-1: none); default all -1.

    Examples
    --------
    >>> X = np.zeros((4, 1, 3))
    >>> record_provenance(X, 2, [1, -1])
    >>> provenance_of(X).sources.tolist(), provenance_of(X.copy())
    ([1, -1], None)
    """
    n_syn = len(X) - int(n_real)
    sources = np.full(n_syn, -1, dtype=np.int64) if sources is None else np.asarray(sources)
    if len(sources) != n_syn:
        sources = np.full(n_syn, -1, dtype=np.int64)  # an unexpected length: claim nothing
    key = id(X)
    ref = weakref.ref(X, lambda _ref, key=key: _RECORDS.pop(key, None))
    _RECORDS[key] = (ref, Provenance(int(n_real), sources.astype(np.int64, copy=False)))


def provenance_of(X) -> Provenance | None:
    """The record of the array ``X`` (the very object a sampler returned), or None."""
    entry = _RECORDS.get(id(X))
    if entry is None or entry[0]() is not X:
        return None
    return entry[1]


@contextlib.contextmanager
def fitting_on(X):
    """Within the block, :func:`current_provenance` is the record of ``X`` (or None).

    Examples
    --------
    >>> X = np.zeros((3, 1, 2)); record_provenance(X, 2)
    >>> with fitting_on(X):
    ...     current_provenance().n_real
    2
    """
    token = _FITTING_ON.set(provenance_of(X))
    try:
        yield
    finally:
        _FITTING_ON.reset(token)


def current_provenance() -> Provenance | None:
    """The record of the windows the innermost running ``fit`` was given, if any."""
    return _FITTING_ON.get()
