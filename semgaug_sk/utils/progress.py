"""Progress reporting that suits where the output goes.

:func:`progress` is the one place the library reports progress (diffusion
training steps, generation batches). It returns

- a live tqdm bar when its stream (stderr by default) is a terminal, or a
  widget in a Jupyter notebook;
- otherwise (a log file, a pipe, CI, ``subprocess`` with captured output) a
  few plain summary lines: one at the start, about one per tenth of the work
  (at most one every ``min_interval`` seconds) and one at the end. One bar
  writes at most a dozen lines, instead of the hundreds of carriage-return
  updates tqdm writes into a file;
- nothing with ``disable=True`` (``verbose=0`` in the estimators).

The networks' per-epoch tables (skorch's ``PrintLog``, ``verbose >= 1`` on a
network) and early-stopping messages go to ``sys.stdout``, or to the stream
that :func:`epoch_logs_to` names in the current context (this thread or
asyncio task only; ``contextlib.redirect_stdout`` would move every thread's
prints).

Examples
--------
>>> import io
>>> log = io.StringIO()
>>> for _ in progress(range(4), desc="demo", file=log, min_interval=0):
...     pass
>>> print(log.getvalue().splitlines()[0])
demo: 0/4
>>> print(log.getvalue().splitlines()[-1].split(" in ")[0])
demo: 4/4 done
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time

__all__ = ["ContextSinkMixin", "epoch_log_stream", "epoch_logs_to", "progress"]

#: Where the epoch logs of this context go (None: ``sys.stdout`` at the time of writing).
_EPOCH_LOG_STREAM = contextvars.ContextVar("semgaug_epoch_log_stream", default=None)


def epoch_log_stream():
    """The stream the networks' epoch logs go to here: :func:`epoch_logs_to`'s, else stdout.

    Returns
    -------
    stream : file-like
        The stream set by the innermost :func:`epoch_logs_to` of this context, or
        ``sys.stdout`` as it is now.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> with epoch_logs_to(log):
    ...     epoch_log_stream() is log
    True
    >>> epoch_log_stream() is sys.stdout
    True
    """
    stream = _EPOCH_LOG_STREAM.get()
    return sys.stdout if stream is None else stream


@contextlib.contextmanager
def epoch_logs_to(stream):
    """Send the networks' epoch tables and early-stopping messages to ``stream``.

    Only the library's networks trained in this context (this thread, or this
    asyncio task) are affected, and nothing else that prints: unlike
    ``contextlib.redirect_stdout``, another thread's output stays where it was.
    What goes there is what ``verbose`` asks for; nothing is printed at
    ``verbose=0``.

    Parameters
    ----------
    stream : file-like
        Has ``write`` (and ideally ``flush``), e.g. ``sys.stderr`` or a log file.

    Yields
    ------
    stream : file-like

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from semgaug_sk.encoders import SemanticEncoder
    >>> X = np.random.default_rng(0).normal(size=(40, 2, 16)).astype(np.float32)
    >>> y = np.repeat([0, 1], 20)
    >>> log = io.StringIO()
    >>> with epoch_logs_to(log):
    ...     _ = SemanticEncoder(max_epochs=2, verbose=1, random_state=0).fit(X, y)
    >>> "train_loss" in log.getvalue()
    True
    """
    if not callable(getattr(stream, "write", None)):
        raise TypeError(
            f"epoch_logs_to: {type(stream).__name__} has no write method; pass an open "
            "text stream such as sys.stderr or a file opened with open(path, 'w')."
        )
    token = _EPOCH_LOG_STREAM.set(stream)
    try:
        yield stream
    finally:
        _EPOCH_LOG_STREAM.reset(token)


class ContextSinkMixin:
    """A skorch callback whose default ``sink=print`` writes to :func:`epoch_log_stream`.

    skorch prints with ``print`` only when the net is verbose; that rule is
    kept. Any other ``sink`` (a logger, ``noop``) is called as skorch calls it.
    Put it before the skorch callback in the bases.
    """

    def _sink(self, text, verbose):
        if self.sink is not print:
            super()._sink(text, verbose)
        elif verbose:
            stream = epoch_log_stream()
            print(text, file=stream)
            flush = getattr(stream, "flush", None)
            if callable(flush):
                flush()


#: Summary lines per bar when the output is not a terminal (besides the start and end lines).
N_REPORTS = 10


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _in_notebook(stream) -> bool:
    return type(stream).__module__.startswith("ipykernel")


def progress(
    iterable=None,
    *,
    total=None,
    desc="",
    unit="it",
    disable=False,
    file=None,
    min_interval=1.0,
):
    """A progress bar over ``iterable`` (or ``total`` manual updates) that suits the output.

    A drop-in for the part of tqdm the library uses: iterate over it, or call
    ``update(n)``, ``set_postfix(**values)`` and ``close()``; ``n`` counts the
    work done.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and yielded unchanged.
    total : int, optional
        Expected number of updates; defaults to ``len(iterable)`` when it has one.
    desc : str, default=""
        Label in front of the bar or of each summary line.
    unit : str, default="it"
        Name of one update, in the bar and the summary lines.
    disable : bool, default=False
        Report nothing (``verbose=0``).
    file : file-like, optional
        Where to write; ``sys.stderr`` (looked up at call time) when None. When that is
        None too (pythonw, a windowed app), nothing is reported.
    min_interval : float, default=1.0
        Seconds at least between two intermediate summary lines (not a terminal).

    Returns
    -------
    bar : tqdm.tqdm or a summary-line reporter with the same methods
    """
    file = sys.stderr if file is None else file
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    # no stream at all (sys.stderr is None under pythonw and in windowed apps): report nothing
    disable = disable or file is None
    if disable or _is_terminal(file) or _in_notebook(file):
        from tqdm.auto import tqdm

        return tqdm(
            iterable, total=total, desc=desc, unit=unit, leave=False, file=file, disable=disable
        )
    return _SummaryLines(iterable, total, desc, unit, file, min_interval)


class _SummaryLines:
    """A progress reporter for logs: a start line, one about every tenth, an end line."""

    def __init__(self, iterable, total, desc, unit, file, min_interval):
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.file = file
        self.min_interval = float(min_interval)
        self.n = 0
        self.postfix = ""
        self._start = self._last = time.perf_counter()
        self._next_tenth = 1
        self._closed = False
        self._write(f"{self._count()}")

    # -- tqdm's interface ------------------------------------------------------------------
    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self):
        return self.total or 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n=1):
        self.n += n
        if not self.total:
            if time.perf_counter() - self._last >= 30 * self.min_interval:
                self._write(f"{self._count()} {self._elapsed()}")
            return
        tenth = int(N_REPORTS * self.n / self.total)
        if tenth < self._next_tenth or self.n >= self.total:
            return
        self._next_tenth = tenth + 1
        if time.perf_counter() - self._last < self.min_interval:
            return
        elapsed = time.perf_counter() - self._start
        left = elapsed * (self.total - self.n) / max(self.n, 1)
        self._write(
            f"{self._count()} ({100 * self.n / self.total:.0f}%) {elapsed:.0f} s, "
            f"~{left:.0f} s left"
        )

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        values = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def set_description(self, desc=None, refresh=True):
        self.desc = desc or ""

    def refresh(self):
        pass

    def close(self):
        if self._closed:
            return
        self._closed = True
        elapsed = time.perf_counter() - self._start
        if self.total is None or self.n >= self.total:
            rate = f" ({self.n / elapsed:.1f} {self.unit}/s)" if elapsed > 0 and self.n else ""
            self._write(f"{self._count()} done in {elapsed:.1f} s{rate}")
        else:
            self._write(f"stopped at {self._count()} after {elapsed:.1f} s")

    # -- output ----------------------------------------------------------------------------
    def _count(self):
        unit = "" if self.unit == "it" else f" {self.unit}"
        return f"{self.n}/{self.total}{unit}" if self.total else f"{self.n} {self.unit}"

    def _elapsed(self):
        return f"{time.perf_counter() - self._start:.0f} s"

    def _write(self, text):
        self._last = time.perf_counter()
        postfix = f", {self.postfix}" if self.postfix else ""
        prefix = f"{self.desc}: " if self.desc else ""
        try:
            self.file.write(f"{prefix}{text}{postfix}\n")
            self.file.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the work
            pass
