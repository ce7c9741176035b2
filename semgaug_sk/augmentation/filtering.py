"""The confidence filter of SASS: keep generated windows the encoder recognises.

:func:`filter_by_confidence` runs rounds of request, generate, judge: each
round draws conditions for the windows still missing, generates them batch by
batch, and keeps those whose intended class gets probability >= a threshold.
Later rounds ask for more than is missing, scaled by the class's acceptance
rate so far; a class keeps its first passing windows, and once it has all it
wants, batches holding only filled classes are not generated. What is still
missing after the last round is the shortfall: it is returned, never filled
with windows that failed. :func:`sass_generate` runs it
for a fitted :class:`~semgaug_sk.augmentation.SASGAugmenter`.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
from sklearn.utils import Bunch

from ..utils.progress import progress
from ..utils.validation import caller_stacklevel, check_optional_positive_int

__all__ = ["filter_by_confidence", "sass_generate"]


def _request(remaining, tried, passed, round_):
    """Conditions to ask for per class: what is missing over the expected acceptance."""
    request = OrderedDict()
    for c, left in remaining.items():
        if left <= 0:
            continue
        if round_ == 0 or passed[c] == 0:
            rate = 1.0 if round_ == 0 else 0.25
        else:
            rate = passed[c] / tried[c]
        request[c] = min(int(math.ceil(left / max(rate, 0.1))), 10 * left)
    return request


def _condition_batches(conditions, batch_size):
    """Yield ``(first_row, batch)``: the conditions re-cut into batches of ``batch_size``.

    ``conditions`` is an array or an iterable of blocks; the batches end at multiples
    of ``batch_size`` of the concatenation (the last one may be shorter). Batches are
    views of their block, except one that spans two blocks (a short carry-over is
    joined), so only the current block and one batch exist at a time.
    ``batch_size=None``: one batch of all.
    """
    if batch_size is None:
        blocks = [conditions] if isinstance(conditions, np.ndarray) else list(conditions)
        blocks = [np.asarray(b) for b in blocks]
        if sum(map(len, blocks)):
            yield 0, np.concatenate(blocks)
        return
    blocks = [conditions] if isinstance(conditions, np.ndarray) else conditions
    carry, first = None, 0
    for block in blocks:
        block, at = np.asarray(block), 0
        if carry is not None and len(block):
            at = min(batch_size - len(carry), len(block))
            carry = np.concatenate([carry, block[:at]])
            if len(carry) < batch_size:
                continue
            yield first, carry
            first, carry = first + batch_size, None
        while len(block) - at >= batch_size:
            yield first, block[at : at + batch_size]
            first, at = first + batch_size, at + batch_size
        if at < len(block):
            carry = block[at:].copy() if carry is None else np.concatenate([carry, block[at:]])
    if carry is not None and len(carry):
        yield first, carry


def filter_by_confidence(
    n_per_code,
    draw,
    generate,
    judge,
    out,
    *,
    threshold=0.5,
    max_rounds=5,
    batch_size=None,
    prepare=None,
):
    """Generate ``n_per_code`` windows that pass a confidence threshold, in rounds.

    Parameters
    ----------
    n_per_code : dict
        ``{class code: number of windows wanted}``, in the order of the output.
    draw : callable
        ``draw(request, round_) -> conditions``: ``request[c]`` conditions of
        each code ``c``, as rows grouped by code in the order of ``request``:
        one array, or an iterable of arrays (blocks) that concatenate to it.
    generate : callable
        ``generate(conditions, round_)`` yields ``(start, stop, windows)`` for
        rows ``start:stop`` of ``conditions``, one batch at a time.
    judge : callable
        ``judge(windows, codes)`` returns the probability of each window's
        intended class ``codes``.
    out : ndarray of shape (sum(n_per_code.values()), ...)
        Receives the accepted windows, grouped by code.
    threshold : float, default=0.5
        Smallest accepted probability; 0 accepts every window (no ``judge`` call).
    max_rounds : int, default=5
        Rounds at most (the first one plus top-ups).
    batch_size : int, optional
        Hand ``generate`` at most this many conditions at a time, cut at multiples
        of ``batch_size`` of the round's rows (so a ``generate`` that batches by
        ``batch_size`` sees the same batches as with all rows at once). With a
        ``draw`` that yields blocks, at most one block and one batch of conditions
        exist at a time, whatever the request. A batch whose classes have all
        they want is skipped (only top-up rounds, which ask for more than is
        missing, reach one): what is kept does not depend on ``batch_size``, the
        work and ``acceptance`` of a class that fills in a top-up do. None: all
        of a round's conditions at once.
    prepare : callable, optional
        ``prepare(windows, codes) -> windows``: applied to each generated batch
        before it is judged and kept (e.g. calibration and quantisation), so the
        filter judges the windows it returns.

    Returns
    -------
    result : Bunch
        ``X`` (the accepted windows: a view of ``out`` when none is missing, a
        copy when some are, so that a short result does not keep the whole
        buffer alive), ``conditions`` and
        ``codes`` (aligned with ``X``), ``acceptance`` (``{code: fraction of
        generated windows that passed}``, NaN for a code never tried) and
        ``shortfall`` (``{code: windows missing}``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def draw(request, round_):
    ...     return np.repeat(list(request), list(request.values()))[:, None].astype(float)
    >>> def generate(cond, round_):
    ...     yield 0, len(cond), rng.normal(size=(len(cond), 1, 4))
    >>> judge = lambda windows, codes: (windows[:, 0, 0] > 0).astype(float)
    >>> res = filter_by_confidence({0: 5, 1: 5}, draw, generate, judge, np.empty((10, 1, 4)))
    >>> len(res.X), res.shortfall, bool((res.X[:, 0, 0] > 0).all())
    (10, {0: 0, 1: 0}, True)
    """
    check_optional_positive_int(batch_size, "batch_size", "filter_by_confidence: ")
    total = sum(n_per_code.values())
    starts = np.cumsum([0, *n_per_code.values()])[:-1]
    offset = dict(zip(n_per_code, starts.tolist(), strict=True))
    filled = dict.fromkeys(n_per_code, 0)
    remaining = dict(n_per_code)
    tried = dict.fromkeys(n_per_code, 0)
    passed = dict.fromkeys(n_per_code, 0)
    z_out = None
    for round_ in range(max_rounds):
        request = _request(remaining, tried, passed, round_)
        if not request:
            break
        bounds = np.cumsum(list(request.values()))
        request_codes = np.array(list(request), dtype=np.int64)
        for first, conds in _condition_batches(draw(request, round_), batch_size):
            if z_out is None:
                z_out = np.empty((total, *conds.shape[1:]), dtype=conds.dtype)
            rows_of_batch = np.arange(first, first + len(conds))
            codes_of_batch = request_codes[np.searchsorted(bounds, rows_of_batch, side="right")]
            if all(remaining[c] <= 0 for c in np.unique(codes_of_batch).tolist()):
                continue  # a top-up asks for more than is missing: its classes filled already
            for start, stop, windows in generate(conds, round_):
                rows_of_round = np.arange(first + start, first + stop)
                batch_codes = request_codes[np.searchsorted(bounds, rows_of_round, side="right")]
                if prepare is not None:
                    windows = prepare(windows, batch_codes)
                if threshold > 0:
                    ok = np.asarray(judge(windows, batch_codes)) >= threshold
                else:
                    ok = np.ones(len(batch_codes), dtype=bool)
                for c in np.unique(batch_codes).tolist():
                    rows = np.flatnonzero((batch_codes == c) & ok)
                    tried[c] += int(np.sum(batch_codes == c))
                    passed[c] += len(rows)
                    rows = rows[: remaining[c]]
                    at = offset[c] + filled[c]
                    out[at : at + len(rows)] = windows[rows]
                    z_out[at : at + len(rows)] = conds[start + rows]
                    filled[c] += len(rows)
                    remaining[c] -= len(rows)
    if z_out is None:
        z_out = np.empty((total, 0))
    n_made = 0
    for c in n_per_code:  # close the gaps a shortfall left (moves only ever go forward)
        src = slice(offset[c], offset[c] + filled[c])
        out[n_made : n_made + filled[c]] = out[src]
        z_out[n_made : n_made + filled[c]] = z_out[src]
        n_made += filled[c]
    return Bunch(
        # copies when short, so that the caller does not keep the whole buffer alive
        X=out[:n_made] if n_made == len(out) else out[:n_made].copy(),
        conditions=z_out[:n_made] if n_made == len(z_out) else z_out[:n_made].copy(),
        codes=np.concatenate(
            [np.full(filled[c], c, dtype=np.int64) for c in n_per_code] or [np.empty(0, np.int64)]
        ),
        acceptance={c: (passed[c] / tried[c] if tried[c] else float("nan")) for c in n_per_code},
        shortfall={c: remaining[c] for c in n_per_code},
    )


def sass_generate(aug, sampler, n_per_code, rng, generator, out=None):
    """SASS conditions of a fitted SASGAugmenter, generated and kept by the filter.

    Draws conditions with ``sampler``, generates them with ``aug.generator_``,
    calibrates them with the gains of ``aug.calibration`` (if any), judges them
    with ``aug.encoder_`` and runs :func:`filter_by_confidence` with
    ``aug.confidence_threshold`` and ``aug.max_rounds``. Sets
    ``aug.calibration_gains_``, ``last_conditions_``, ``last_condition_labels_``,
    ``last_acceptance_`` and ``last_shortfall_``, and warns about a shortfall.

    Parameters
    ----------
    aug : SASGAugmenter
    sampler : SASS
        The fitted condition sampler.
    n_per_code : OrderedDict
        ``{class code: windows wanted}``.
    rng : numpy.random.Generator
        Draws the conditions.
    generator : torch.Generator
        Noise of the diffusion sampler.
    out : ndarray, optional
        Receives the windows.

    Returns
    -------
    X : ndarray of shape (n_accepted, n_channels, n_times)
    y : ndarray of shape (n_accepted,)
    """
    if out is None:
        total = sum(n_per_code.values())
        out = np.empty((total, aug.n_channels_, aug.n_times_), dtype=aug.dtype_)
    # the gains of aug's current calibration setting (cached: cheap when _generate set them)
    aug.calibration_gains_ = aug._current_gains()

    bar = None

    def close(bar):
        bar.total = bar.n  # a top-up's filled classes end it early: show what was made
        bar.refresh()
        bar.close()

    def draw(request, round_):
        nonlocal bar
        if bar is not None:
            close(bar)
        bar = progress(
            total=sum(request.values()),
            desc=f"SASS round {round_ + 1}",
            unit="windows",
            disable=not aug.verbose,
        )
        wanted = {aug.classes_[c]: n for c, n in request.items()}
        blocks = sampler.sample_blocks(
            wanted, rng, block_size=aug.generate_batch_size, warn=round_ == 0
        )
        return (conditions for conditions, _ in blocks)

    def generate(conds, round_):
        for start, stop, windows in aug.generator_.sample_batches(
            aug._model_conditions(conds), random_state=generator, show_progress=False
        ):
            bar.update(stop - start)
            yield start, stop, windows

    def prepare(windows, codes):
        # judged as returned: calibrated, then on the real windows' grid (no-ops without)
        return aug._to_grid(aug._calibrate(windows, codes))

    def judge(windows, codes):
        proba = aug.encoder_.predict_proba(windows)
        return proba[np.arange(len(codes)), aug._encoder_columns[codes]]

    try:  # one bar per round, here, instead of the generator's one per call
        res = filter_by_confidence(
            n_per_code,
            draw,
            generate,
            judge,
            out,
            threshold=float(aug.confidence_threshold),
            max_rounds=aug.max_rounds,
            batch_size=aug.generate_batch_size,
            prepare=prepare,
        )
    except BaseException:
        if bar is not None:
            bar.close()  # interrupted: the bar says where it stopped
        raise
    if bar is not None:
        close(bar)
    aug.last_conditions_ = res.conditions
    aug.last_condition_labels_ = aug.classes_[res.codes]
    aug.last_acceptance_ = {aug.classes_[c]: rate for c, rate in res.acceptance.items()}
    aug.last_shortfall_ = {aug.classes_[c]: n for c, n in res.shortfall.items()}
    short = [c for c, n in res.shortfall.items() if n > 0]
    if short:
        detail = ", ".join(
            f"class {aug.classes_.tolist()[c]!r}: {res.shortfall[c]} of {n_per_code[c]} missing"
            for c in short
        )
        # with a prior the generator is fine-tuned for adapt_steps, not trained for n_steps
        longer = "(adapt_steps)" if getattr(aug, "prior", None) is not None else "(n_steps)"
        warnings.warn(
            f"SASGAugmenter: after max_rounds={aug.max_rounds} SASS rounds, too few windows "
            f"passed confidence_threshold={float(aug.confidence_threshold)} ({detail}); "
            "returning the windows that passed (see last_shortfall_). Lower "
            f"confidence_threshold, raise max_rounds, or train longer {longer}.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return res.X, aug.classes_[res.codes]
