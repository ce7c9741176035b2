"""Which rows of a resampled window set are real: honest early stopping after augmentation.

A sampler's ``fit_resample`` returns the real windows first, then synthetic ones. A
network fitted on that array must not choose its stopping epoch on synthetic windows,
nor on real windows whose augmented copies it trains on. Inside an
``imblearn.pipeline.Pipeline`` the network only receives ``(X, y)``, so the samplers of
this library record, for the exact array they return, how many rows are real and which
real window each synthetic row was made from; the library's networks look that record
up at ``fit`` and hold out real windows only, dropping the synthetic rows made from
them (:meth:`semgaug_sk.base.BaseWindowNet._validation_split`).

The record is kept for the array object and for its content (a hash of its bytes): an
exact copy keeps it, such as the one an ``imblearn`` Pipeline's ``memory`` cache returns
in the same process. Content records are kept for the process's last 32 outputs (and
at most 4 million synthetic rows): a copy used after many other resamplings, or sent to
another process (a joblib worker), has none, and the network falls back to its plain
split; carry the record with it (``record = provenance_of(X_res)``, then
``record_provenance(X_res, record.n_real, record.sources)`` before ``fit``). Inside a
Pipeline the record never has that far to travel. A fitted sampler
carries the record of its last output
(:func:`provenance_token`) and registers it again when it is unpickled, so the output
that a warm cache reloads in a later process keeps it too. An array that is sliced, reordered, cast or otherwise changed (in
place too) has no record, and the network falls back to its plain split. A sampler given
an array with a record (the output of an earlier sampler in the same Pipeline) extends
that record, so the real rows are still the first real windows and every synthetic row
still points to the real window it descends from. A transformer that keeps the rows in
order passes the record on to its output (:func:`pass_on_provenance`):
:class:`~semgaug_sk.preprocessing.WindowStandardizer` does, so a scaler between the
sampler and the network keeps the split honest; a transformer of your own should call
:func:`pass_on_provenance` too.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import threading
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CarriesOutputRecordMixin",
    "Provenance",
    "chain_provenance",
    "current_provenance",
    "fitting_on",
    "pass_on_provenance",
    "recent_output_rows",
    "provenance_of",
    "provenance_token",
    "record_provenance",
    "restore_provenance",
    "warn_if_record_dropped",
]


@dataclass(frozen=True)
class Provenance:
    """Where the rows of a resampled window set come from.

    Parameters
    ----------
    n_real : int
        The first ``n_real`` rows are the real windows.
    sources : ndarray of int of shape (n_rows - n_real,) or (n_rows - n_real, n_parents)
        For each synthetic row, the index of the real window it was made from, or -1
        when it comes from no single real window (a generative model's sample). An
        interpolation of several real windows (SMOTE: two) lists each in a row of
        the 2-D form, padded with -1.

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
        if made.ndim == 2:  # any of its parents
            made = made.any(axis=1)
        return self.n_real + np.flatnonzero(made)


#: id(array) -> (weak reference, record, content fingerprint, labels digest or None)
_RECORDS: dict[int, tuple[weakref.ref, Provenance, tuple, str | None]] = {}
#: The last records by content, for exact copies; bounded, as copies outlive nothing.
_BY_CONTENT: OrderedDict[tuple, Provenance] = OrderedDict()
_MAX_BY_CONTENT = 32
_MAX_CONTENT_ROWS = 4_000_000  # about 32 MB of int64 sources
_BY_CONTENT_LOCK = threading.Lock()  # samplers and networks may run in threads
#: ``(n_rows, labels digest or None)`` of the last outputs holding synthetic rows.
_RECENT_OUTPUTS: OrderedDict[tuple, None] = OrderedDict()


def _forget_content_records():
    """In a forked child: no content records, as in a spawned one (macOS, Windows).

    A fork inherits the parent's records, so a copy of a resampled array sent to a
    worker kept its record on Linux only, and the same code trained differently on
    other systems. The lock is new too: another thread may have held it at the fork.
    """
    global _BY_CONTENT_LOCK
    _BY_CONTENT_LOCK = threading.Lock()
    _BY_CONTENT.clear()
    _RECENT_OUTPUTS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_content_records)


def _fingerprint(X) -> tuple:
    """Shape, dtype and a hash of the bytes: equal exactly for equal arrays."""
    digest = hashlib.blake2b(np.ascontiguousarray(X).data, digest_size=16).hexdigest()
    return X.shape, X.dtype.str, digest


_FITTING_ON: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar(
    "semgaug_fitting_on", default=None
)


def record_provenance(X, n_real, sources=None, labels=None) -> None:
    """Record that the first ``n_real`` rows of the array ``X`` are real.

    Parameters
    ----------
    X : ndarray
        The resampled array, exactly as it is returned to the caller.
    n_real : int
    sources : array-like of int, optional
        Source real window of each synthetic row (-1: none); default all -1. A 2-D
        array lists several sources per row (an interpolation), padded with -1.
    labels : array-like, optional
        The labels returned with ``X``: a later sampler given windows without a record
        but these very labels can tell that a step dropped the record
        (:func:`warn_if_record_dropped`).

    Examples
    --------
    >>> X = np.zeros((4, 1, 3))
    >>> record_provenance(X, 2, [1, -1])
    >>> provenance_of(X).sources.tolist(), provenance_of(X.copy()).n_real, provenance_of(X[:3])
    ([1, -1], 2, None)
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(
            f"record_provenance: X must be the numpy array returned to the caller; got "
            f"{type(X).__name__}. Record the array itself (np.asarray makes a new one)."
        )
    if isinstance(n_real, bool) or not isinstance(n_real, (int, np.integer)):
        raise TypeError(f"record_provenance: n_real must be an integer; got {n_real!r}.")
    if not 0 <= int(n_real) <= len(X):
        raise ValueError(
            f"record_provenance: n_real={n_real} must lie between 0 and the {len(X)} rows of "
            "X (the real windows come first)."
        )
    n_syn = len(X) - int(n_real)
    sources = np.full(n_syn, -1, dtype=np.int64) if sources is None else np.asarray(sources)
    if len(sources) != n_syn:
        sources = np.full(n_syn, -1, dtype=np.int64)  # an unexpected length: claim nothing
    _check_sources(sources, int(n_real), "record_provenance", "the n_real real rows")
    record = Provenance(int(n_real), sources.astype(np.int64, copy=False))
    digest = None if labels is None else _labels_digest(labels)
    _store(X, record, digest)
    _remember_output(record, digest)


def _store(X, record, digest):
    """Attach ``record`` to the array ``X`` (and to copies of its content)."""
    key = id(X)
    fingerprint = _fingerprint(X)
    ref = weakref.ref(X, lambda _ref, key=key: _RECORDS.pop(key, None))
    _RECORDS[key] = (ref, record, fingerprint, digest)
    _remember_content(fingerprint, record)


def _remember_output(record, digest=None):
    """Keep the row count (and labels digest) of an output that holds synthetic rows."""
    if not len(record.sources):
        return
    # without labels, any labels of as many rows may be this output's
    key = (record.n_rows, digest)
    with _BY_CONTENT_LOCK:
        _RECENT_OUTPUTS[key] = None
        _RECENT_OUTPUTS.move_to_end(key)
        while len(_RECENT_OUTPUTS) > _MAX_BY_CONTENT:
            _RECENT_OUTPUTS.popitem(last=False)


def _labels_digest(labels):
    """A digest of a label sequence: equal for equal labels in the same order."""
    values = np.asarray(labels)
    if values.dtype.kind in "biuf":
        data = np.ascontiguousarray(values).tobytes() + values.dtype.str.encode()
    else:  # strings and objects: by their text
        data = "\x1f".join(map(str, values.ravel().tolist())).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _check_sources(sources, n_rows, who, rows):
    """Refuse sources that are not integers in ``[-1, n_rows)``: they would name other rows."""
    if sources.size == 0:
        return
    if sources.dtype.kind not in "iu" or sources.ndim not in (1, 2):
        raise ValueError(
            f"{who}: sources must be a 1-D or 2-D array of integer row indices; got "
            f"dtype {sources.dtype} and shape {sources.shape}."
        )
    low, high = int(sources.min()), int(sources.max())
    if low < -1 or high >= n_rows:
        raise ValueError(
            f"{who}: sources must index {rows} (0 to {n_rows - 1}, or -1 for none); got "
            f"values from {low} to {high}. A sampler's last_sources_ must describe the "
            "windows it was given in this fit_resample, not those of another fit."
        )


def _remember_content(fingerprint, record):
    with _BY_CONTENT_LOCK:
        _BY_CONTENT[fingerprint] = record
        _BY_CONTENT.move_to_end(fingerprint)
        # bounded in records and in the rows they describe (sources of big sets weigh MBs)
        while len(_BY_CONTENT) > _MAX_BY_CONTENT or (
            len(_BY_CONTENT) > 1
            and sum(len(r.sources) for r in _BY_CONTENT.values()) > _MAX_CONTENT_ROWS
        ):
            _BY_CONTENT.popitem(last=False)


def provenance_token(X):
    """The record of the array ``X`` as plain data, to travel with the sampler that made it.

    An ``imblearn`` Pipeline's ``memory`` cache reloads a sampler's output together with
    the fitted sampler, in a later process where no record exists. A sampler keeps this
    token and :func:`restore_provenance` registers it again when it is unpickled, so a
    warm cache trains the same network as a cold one. None when ``X`` has no record.

    Parameters
    ----------
    X : ndarray
        The array a sampler returned, itself (not a copy).

    Returns
    -------
    token : dict or None
        ``"fingerprint"`` (shape, dtype and hash of the content), ``"n_real"``,
        ``"sources"`` and ``"labels"`` (digest of the labels, or None).

    Examples
    --------
    >>> X = np.zeros((3, 1, 2)); record_provenance(X, 2)
    >>> token = provenance_token(X)
    >>> restore_provenance(token); provenance_of(X.copy()).n_real
    2
    """
    entry = _RECORDS.get(id(X)) if isinstance(X, np.ndarray) else None
    if entry is None or entry[0]() is not X:
        return None
    record, fingerprint, digest = entry[1], entry[2], entry[3]
    return {
        "fingerprint": fingerprint,
        "n_real": record.n_real,
        "sources": record.sources,
        "labels": digest,
    }


def restore_provenance(token) -> None:
    """Register again the record of :func:`provenance_token` for arrays of that content.

    Parameters
    ----------
    token : dict or None
        The output of :func:`provenance_token`; None (or an empty dict) does nothing.
    """
    if not token:
        return
    shape, dtype, digest = token["fingerprint"]
    fingerprint = (tuple(shape), str(dtype), str(digest))
    record = Provenance(int(token["n_real"]), np.asarray(token["sources"], dtype=np.int64))
    _remember_content(fingerprint, record)
    _remember_output(record, token.get("labels"))  # tokens from before labels: None


def provenance_of(X) -> Provenance | None:
    """The record of ``X``: the array a sampler returned, unchanged, or an exact copy of it.

    None for anything else, including the returned array after a change in place.

    Parameters
    ----------
    X : object
        Usually an ndarray; anything else has no record.

    Returns
    -------
    record : Provenance or None
        The record, or None when ``X`` has none.
    """
    if not isinstance(X, np.ndarray):
        return None
    entry = _RECORDS.get(id(X))
    if entry is not None and entry[0]() is X:
        fingerprint = _fingerprint(X)
        if fingerprint == entry[2]:
            return entry[1]
        return _content_record(fingerprint)
    with _BY_CONTENT_LOCK:
        known = any(k[:2] == (X.shape, X.dtype.str) for k in _BY_CONTENT)
    return _content_record(_fingerprint(X)) if known else None  # no such shape: no hashing


def pass_on_provenance(source, result):
    """Give ``result`` the record of ``source``: for transformers that keep the rows.

    A transformer between a sampler and a network (a scaler in an ``imblearn``
    Pipeline) returns a new array, which would have no record, so the network would
    fall back to its plain split and could validate on synthetic windows. A
    transformer whose output row ``i`` is its input row ``i`` calls this on its output.
    Nothing happens when ``source`` has no record or the row counts differ.

    Parameters
    ----------
    source : ndarray
        The transformer's input.
    result : ndarray
        Its output, whose row ``i`` is made from row ``i`` of ``source``.

    Returns
    -------
    result : ndarray
        ``result`` itself (with ``source``'s record, if any).

    Examples
    --------
    >>> X = np.zeros((3, 1, 2)); record_provenance(X, 2)
    >>> Xt = pass_on_provenance(X, X + 1.0)
    >>> provenance_of(Xt).n_real
    2
    """
    record = provenance_of(source)
    if record is not None and isinstance(result, np.ndarray) and len(result) == record.n_rows:
        # not a new sampler output: the one it came from is already among the recent
        # outputs, with its labels (recorded again without them, it would match any
        # labels of as many rows, and real windows would be taken for a dropped record)
        _store(result, record, None)
    return result


def recent_output_rows() -> set[int]:
    """Row counts of the sampler outputs recorded lately in this process.

    A network given windows without a record, but exactly as many as a sampler just
    returned, was most likely fed that output through a step that dropped the record.

    Examples
    --------
    >>> X = np.zeros((7, 1, 2)); record_provenance(X, 5)
    >>> 7 in recent_output_rows()
    True
    """
    with _BY_CONTENT_LOCK:
        return {n_rows for n_rows, _ in _RECENT_OUTPUTS}


def warn_if_record_dropped(estimator, n_rows, record, consequence=None, fix="", labels=None):
    """Warn when ``n_rows`` windows have no ``record`` yet a sampler just returned as many.

    A step between a sampler and ``estimator`` (a ``FunctionTransformer``, a slice, a
    change in place) most likely dropped the record: the real rows can no longer be told
    from the synthetic ones.

    Parameters
    ----------
    estimator : object
        Named in the warning.
    n_rows : int
        Windows ``estimator`` was given.
    record : Provenance or None
        Their record (:func:`provenance_of`); nothing is said when there is one.
    consequence : str, optional
        What goes wrong then; the default is a sampler's (it counts every row as real).
    fix : str, default=""
        A further fix, appended to "call pass_on_provenance(X, Xt)".
    labels : array-like, optional
        The labels given with the windows. With them, the warning needs a recent
        sampler output of these very labels (or one recorded without its labels),
        not only of as many rows: real windows often come as many as an earlier
        output (a grid search's final fit on all the windows its folds augmented).

    Examples
    --------
    >>> import warnings
    >>> X = np.zeros((7, 1, 2)); record_provenance(X, 5)
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn_if_record_dropped(object(), 7, provenance_of(X + 1.0))
    >>> "dropped it" in str(seen[0].message)
    True
    """
    if record is not None or n_rows not in recent_output_rows():
        return
    if labels is not None:
        keys = {(n_rows, None), (n_rows, _labels_digest(labels))}
        with _BY_CONTENT_LOCK:
            if not keys & _RECENT_OUTPUTS.keys():
                return
    from .validation import caller_stacklevel  # imported here: validation imports much

    if consequence is None:
        consequence = (
            "This sampler then counts all of them as real, and a network after it may "
            "validate on synthetic windows and on copies of its training ones."
        )
    warnings.warn(
        f"{type(estimator).__name__}: these {n_rows} windows carry no record of which rows "
        "are real, yet a sampler of this library has just returned that many: a step "
        "between them (a FunctionTransformer, a slice, a change in place) dropped it. "
        f"{consequence} Make that step keep the rows and call "
        f"semgaug_sk.utils.provenance.pass_on_provenance(X, Xt){fix}.",
        UserWarning,
        stacklevel=caller_stacklevel(),
    )


def _content_record(fingerprint):
    with _BY_CONTENT_LOCK:
        return _BY_CONTENT.get(fingerprint)


def chain_provenance(inherited, n_in, sources):
    """``(n_real, sources)`` of ``n_in`` input rows followed by synthetic rows of ``sources``.

    A sampler's synthetic rows point to rows of its input (``sources``, -1 for none). When
    the input itself carries a record (``inherited``: an earlier sampler's output), its real
    rows are the real ones and a source that is a synthetic input row is replaced by that
    row's own source, so the record still names real windows only.

    Parameters
    ----------
    inherited : Provenance or None
        The input's record (:func:`provenance_of`); ignored when None or when it does not
        describe ``n_in`` rows.
    n_in : int
        Rows of the sampler's input.
    sources : array-like of int of shape (n_new,) or (n_new, n_parents)
        Input row each synthetic row was made from (-1: none).

    Returns
    -------
    n_real : int
        Real rows of the output: ``inherited.n_real``, or ``n_in`` without a record.
    sources : ndarray of int64 of shape (n_rows - n_real,) or (n_rows - n_real, n_parents)
        Real window of each synthetic row of the output (the input's synthetic rows
        first); 2-D, padded with -1, when a row has several.

    Raises
    ------
    ValueError
        When ``sources`` are not integers in ``[-1, n_in)``.

    Examples
    --------
    >>> first = Provenance(2, np.array([1, 0]))  # 2 real rows, then copies of rows 1 and 0
    >>> n_real, sources = chain_provenance(first, 4, np.array([3, 0, -1]))
    >>> n_real, sources.tolist()
    (2, [1, 0, 0, 0, -1])
    """
    sources = np.asarray(sources)
    _check_sources(sources, n_in, "chain_provenance", f"the {n_in} input rows")
    sources = sources.astype(np.int64, copy=False)
    if inherited is None or inherited.n_rows != n_in:
        return n_in, sources
    old = inherited.sources
    if len(sources) == 0:  # nothing made (ratio=0): the input's record stands
        return inherited.n_real, old
    if old.ndim == 1 and sources.ndim == 1:
        mapped = sources.copy()
        synthetic = mapped >= inherited.n_real
        mapped[synthetic] = old[mapped[synthetic] - inherited.n_real]
        return inherited.n_real, np.concatenate([old, mapped])
    # several parents somewhere: each row lists all of its real ancestors, -1 padded
    old2 = old.reshape(len(old), old.shape[1] if old.ndim == 2 else 1)
    new2 = sources.reshape(len(sources), sources.shape[1] if sources.ndim == 2 else 1)
    k_old = old2.shape[1]
    expanded = np.full((*new2.shape, k_old), -1, dtype=np.int64)
    real = new2 < inherited.n_real  # a real row (or -1) stands for itself
    expanded[..., 0] = np.where(real, new2, -1)
    expanded[~real] = old2[new2[~real] - inherited.n_real]  # a synthetic row: its parents
    mapped = expanded.reshape(len(new2), -1)
    width = max(k_old, mapped.shape[1])
    padded = [
        np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1) for a in (old2, mapped)
    ]
    return inherited.n_real, np.concatenate(padded)


@contextlib.contextmanager
def fitting_on(X):
    """Within the block, :func:`current_provenance` is the record of ``X`` (or None).

    Parameters
    ----------
    X : ndarray
        The windows the running ``fit`` was given.

    Yields
    ------
    None
        The previous record is restored on leaving the block.

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


class CarriesOutputRecordMixin:
    """Mixin: the estimator carries the record of the output its fit returned.

    An ``imblearn`` Pipeline's ``memory`` cache reloads a step's output together with
    the fitted step, in a later process where no record exists. A step that keeps
    its output's rows calls :meth:`_carry_output_record` on the array its fit returns;
    unpickling registers the record again (:func:`restore_provenance`), so a warm cache
    trains the same network as a cold one. Put it before the scikit-learn base class.

    Examples
    --------
    >>> import pickle
    >>> class Step(CarriesOutputRecordMixin):
    ...     pass
    >>> X = np.zeros((3, 1, 2)); record_provenance(X, 2)
    >>> step = Step(); step._carry_output_record(X)
    >>> step._output_provenance["n_real"]
    2
    """

    def _carry_output_record(self, X):
        self._output_provenance = provenance_token(X)

    def __setstate__(self, state):
        super().__setstate__(state)
        restore_provenance(state.get("_output_provenance"))
