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

import sys
import time

__all__ = ["progress"]

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
