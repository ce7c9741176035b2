"""Matplotlib figures: real against synthetic windows, embedding maps, benchmark bars.

Every function takes plain arrays, draws on a new
:class:`matplotlib.figure.Figure` and returns it; nothing is shown or saved unless
asked (``path=``). The figures are made without pyplot, so the library never changes
the user's backend nor leaves figures open in pyplot. Jupyter displays a returned
figure; elsewhere save it (``path=``, or ``fig.savefig("fig.png")``) and open the file.
``fig.show()`` does not work on them: it needs a figure that pyplot manages.
"""

from __future__ import annotations

import itertools
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .utils.validation import missing_values

__all__ = ["plot_real_vs_synthetic", "plot_embedding_map", "plot_gain_bars"]


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _finite(name, X, who):
    try:
        X = np.asarray(X)
        if not np.iscomplexobj(X):
            X = X.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:  # ragged lists, strings
        raise ValueError(
            f"{who}: {name} must be a numeric array of one shape (windows of equal length); it "
            f"could not be read as one: {exc}"
        ) from None
    if np.iscomplexobj(X):  # a float cast would drop the imaginary part with only a warning
        raise ValueError(
            f"{who}: {name} holds complex numbers, which a trace cannot show; plot their real "
            "part (np.real) or their magnitude (np.abs)."
        )
    if not np.isfinite(X).all():
        raise ValueError(
            f"{who}: {name} contains NaN or inf; drop those windows before plotting them."
        )
    return X


def _check_path(path, who):
    """Refuse a ``path=`` that matplotlib would mishandle, before anything is drawn: a
    folder (it would write ``<folder>.png`` beside it), a missing folder, an unknown
    format. A file object is passed through."""
    if path is None or hasattr(path, "write"):
        return path
    try:
        text = os.fsdecode(path)
    except TypeError:
        raise TypeError(
            f"{who}: path must be a str, a path-like object or a binary file object; got "
            f"{type(path).__name__}. Pass e.g. 'figure.png'."
        ) from None
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):  # Path("figs/") drops the slash
        raise IsADirectoryError(
            f"{who}: path {text!r} is a folder; name a file inside it, e.g. "
            f"{str(path / 'figure.png')!r}."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"{who}: the folder {str(path.parent)!r} does not exist; create it first "
            "(e.g. Path(folder).mkdir(parents=True))."
        )
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix[1:].lower()
    if suffix and suffix not in formats:
        raise ValueError(
            f"{who}: cannot save a figure as {path.suffix!r}; use one of "
            f"{', '.join('.' + f for f in sorted(formats))}."
        )
    return path


def _save(fig, path):
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def _sorted(values):
    """Labels in sorted order; labels of mixed types (1 and "1") by their text."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, repr(v)))


def _short(label, width=28):
    """A label cut to ``width`` characters for a title, so two columns' titles do not overlap."""
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def _class_namer(class_names, caller):
    """A function giving each label its display name: ``class_names[label]`` or the label."""
    if class_names is None:
        return str
    if not isinstance(class_names, Mapping):
        raise ValueError(
            f"{caller}: class_names must be a dict from label to name, e.g. "
            f"{{0: 'rest', 1: 'fist'}}; got {type(class_names).__name__} {class_names!r:.60}."
        )
    return lambda label: str(class_names.get(label, label))


def _class_colours(n_classes):
    """One distinct colour per class: matplotlib's cycle up to 10, tab20 up to 20, then a map."""
    from matplotlib import colormaps

    if n_classes <= 10:
        return [f"C{i}" for i in range(n_classes)]
    if n_classes <= 20:
        return [colormaps["tab20"](i) for i in range(n_classes)]
    return [colormaps["turbo"](i / (n_classes - 1)) for i in range(n_classes)]


def plot_real_vs_synthetic(
    X_real,
    y_real,
    X_syn,
    y_syn,
    *,
    classes=None,
    n_examples=3,
    channels=None,
    fs=None,
    class_names=None,
    random_state=0,
    path=None,
):
    """Draw a few real and synthetic windows per class, side by side.

    Parameters
    ----------
    X_real : ndarray of shape (n_real, n_channels, n_times)
        Real windows.
    y_real : ndarray of shape (n_real,)
        Their labels.
    X_syn : ndarray of shape (n_synthetic, n_channels, n_times)
        Synthetic windows.
    y_syn : ndarray of shape (n_synthetic,)
        Their labels.
    classes : list, optional
        Classes to draw (default: up to 4 classes present in both sets).
    n_examples : int, default=3
        Windows drawn per class and kind, overlaid.
    channels : list of int, optional
        Channels to draw, stacked with an offset (default: up to 4).
    fs : float, optional
        Sampling rate, to label the time axis in ms.
    class_names : dict, optional
        Name to show for each label, e.g. ``{0: "rest", 1: "fist"}``; a label it lacks is
        shown as itself.
    random_state : int, default=0
        Which windows are drawn.
    path : str or Path, optional
        Save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((6, 2, 20))
    >>> fig = plot_real_vs_synthetic(X, np.array([0, 0, 0, 1, 1, 1]), X, np.array([0, 0, 0, 1, 1, 1]))
    >>> len(fig.axes)
    4
    """
    who = "plot_real_vs_synthetic"
    path = _check_path(path, who)
    rng = np.random.default_rng(random_state)
    class_name = _class_namer(class_names, who)
    X_real, X_syn = _finite("X_real", X_real, who), _finite("X_syn", X_syn, who)
    for name, X in (("X_real", X_real), ("X_syn", X_syn)):
        if X.ndim != 3:
            raise ValueError(
                f"plot_real_vs_synthetic: {name} must be windows of shape (n, n_channels, "
                f"n_times); got shape {X.shape}. One-channel windows are X[:, np.newaxis, :]."
            )
        if X.shape[0] == 0 or X.shape[2] == 0:
            raise ValueError(
                f"plot_real_vs_synthetic: {name} of shape {X.shape} holds no sample to draw; "
                "pass at least one window of at least one sample."
            )
    if fs is not None and (
        isinstance(fs, bool)
        or not isinstance(fs, numbers.Real)
        or not np.isfinite(fs)
        or not fs > 0
    ):
        raise ValueError(
            f"plot_real_vs_synthetic: fs must be None or a positive sampling rate in Hz; got "
            f"{fs!r}."
        )
    if X_real.shape[1:] != X_syn.shape[1:]:
        raise ValueError(
            f"plot_real_vs_synthetic: the real windows are {X_real.shape[1:]} (channels, "
            f"samples) and the synthetic ones {X_syn.shape[1:]}; draw windows of one shape."
        )
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    for name, X, y in (("y_real", X_real, y_real), ("y_syn", X_syn, y_syn)):
        if y.shape != (len(X),):
            raise ValueError(
                f"plot_real_vs_synthetic: {name} needs one label per window ({len(X)}); got "
                f"shape {y.shape}."
            )
        if missing_values(y).any():  # such windows would vanish from every class
            raise ValueError(
                f"plot_real_vs_synthetic: {name} holds NaN labels, which name no class; drop "
                "those windows first."
            )
    if (
        isinstance(n_examples, bool)
        or not isinstance(n_examples, (int, np.integer))
        or n_examples < 1
    ):
        raise ValueError(
            f"plot_real_vs_synthetic: n_examples must be a positive integer; got {n_examples!r}."
        )
    present = set(y_real.tolist()) & set(y_syn.tolist())
    if classes is None:
        classes = [c for c in _sorted(set(y_real.tolist())) if c in present][:4]
    elif (
        isinstance(classes, (str, bytes))
        or not hasattr(classes, "__len__")
        or np.ndim(np.asarray(classes, dtype=object)) != 1
    ):
        raise ValueError(
            f"plot_real_vs_synthetic: classes must be a flat list of labels, e.g. "
            f"[{classes!r}]; got {classes!r}."
        )
    else:
        classes = np.asarray(classes, dtype=object).tolist()
    if len(classes) == 0:
        raise ValueError(
            "plot_real_vs_synthetic: no class is present in both the real and the synthetic "
            "windows; label the synthetic windows with the real windows' classes."
        )
    missing = [c for c in classes if c not in present]
    if missing:
        raise ValueError(
            f"plot_real_vs_synthetic: classes {missing} are not in both the real and the "
            f"synthetic windows; choose among {_sorted(present)}."
        )
    n_channels = X_real.shape[1]
    channels = list(range(min(4, n_channels))) if channels is None else list(channels)
    if not channels:
        raise ValueError("plot_real_vs_synthetic: channels is empty; name at least one channel.")
    not_integers = [
        c for c in channels if isinstance(c, bool) or not isinstance(c, (int, np.integer))
    ]
    if not_integers:
        raise ValueError(
            f"plot_real_vs_synthetic: channels must be integer indices; got {not_integers}."
        )
    outside = [c for c in channels if not -n_channels <= c < n_channels]
    if outside:
        raise ValueError(
            f"plot_real_vs_synthetic: channels {outside} do not exist; the windows have "
            f"{n_channels} channel(s), 0 to {n_channels - 1}."
        )
    t = np.arange(X_real.shape[2]) * (1000.0 / fs if fs is not None else 1.0)
    spread = float(np.percentile(np.abs(X_real[:, channels]), 99)) or 1.0
    fig = _figure((9, 2.2 * len(classes)))
    # one y-range per row, so an amplitude mismatch between real and synthetic shows
    axes = fig.subplots(len(classes), 2, sharex=True, sharey="row", squeeze=False)
    colours = _class_colours(len(channels))
    for row, c in enumerate(classes):
        for col, (X, y, kind) in enumerate(((X_real, y_real, "real"), (X_syn, y_syn, "synthetic"))):
            ax = axes[row, col]
            idx = np.flatnonzero(y == c)
            pick = rng.choice(idx, size=min(n_examples, idx.size), replace=False)
            offsets = [2.2 * spread * k for k in range(len(channels))]
            for k, ch in enumerate(channels):
                ax.plot(t, X[pick, ch].T + offsets[k], lw=0.8, alpha=0.8, color=colours[k])
            ax.set_yticks(offsets, [f"ch{ch}" for ch in channels], fontsize=7)
            ax.set_title(
                f"class {_short(class_name(c))}: {kind}, {pick.size} of {idx.size} windows",
                fontsize=9,
            )
        axes[row, 0].set_ylabel(f"channels {2.2 * spread:.3g} apart", fontsize=7)
    axes[-1, 0].set_xlabel("time (ms)" if fs is not None else "sample")
    axes[-1, 1].set_xlabel("time (ms)" if fs is not None else "sample")
    shown = []  # say what a subset leaves out, so the figure is not read as the whole
    if len(classes) < len(present):
        shown.append(f"{len(classes)} of {len(present)} classes")
    if len(channels) < n_channels:
        shown.append(f"{len(channels)} of {n_channels} channels")
    if shown:
        fig.suptitle(f"showing {', '.join(shown)}", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_embedding_map(
    embeddings, labels, kinds, *, class_names=None, random_state=0, path=None, title=None
):
    """Project embeddings of several kinds (real, GMSS, SASS, ...) to 2-D with PCA and draw them.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
        Embeddings of all points together, so that they share one projection.
    labels : ndarray of shape (n,)
        Class of each point (colour).
    kinds : ndarray of shape (n,)
        Kind of each point, e.g. ``"real"``, ``"GMSS"``, ``"SASS"`` (marker).
    class_names : dict, optional
        Name to show in the colour key for each label, e.g. ``{0: "rest", 1: "fist"}``; a
        label it lacks is shown as itself.
    random_state : int, default=0
        Seed of the PCA solver.
    path : str or Path, optional
        Save the figure there.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> E = np.random.default_rng(0).standard_normal((30, 5))
    >>> fig = plot_embedding_map(E, np.arange(30) % 3, np.array(["real", "GMSS", "SASS"] * 10))
    """
    from sklearn.decomposition import PCA

    path = _check_path(path, "plot_embedding_map")
    class_name = _class_namer(class_names, "plot_embedding_map")
    embeddings = _finite("embeddings", embeddings, "plot_embedding_map")
    labels, kinds = np.asarray(labels), np.asarray(kinds)
    if embeddings.ndim != 2 or embeddings.shape[1] < 2 or len(embeddings) < 2:
        raise ValueError(
            "plot_embedding_map needs at least 2 embeddings of at least 2 dimensions, shape "
            f"(n, d), to project them on 2 principal components; got shape {embeddings.shape}."
        )
    if labels.shape != (len(embeddings),) or kinds.shape != (len(embeddings),):
        raise ValueError(
            "plot_embedding_map: labels and kinds need one entry per embedding "
            f"({len(embeddings)}); got {labels.shape} and {kinds.shape}."
        )
    for name, values in (("labels", labels), ("kinds", kinds)):
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError(
                f"plot_embedding_map: {name} hold NaN or infinite values, which name no "
                f"{'class' if name == 'labels' else 'kind'}; drop those embeddings first."
            )
    real = kinds == "real"
    if real.sum() == 1:  # one real point cannot define the projection
        real[:] = False
    basis = embeddings[real] if real.any() else embeddings
    if not np.ptp(basis, axis=0).any():
        raise ValueError(
            f"plot_embedding_map: the {'real ' if real.any() else ''}embeddings are all the "
            "same point, so they define no projection (an encoder that collapsed?). Check the "
            "encoder's fit, or pass embeddings that vary."
        )
    # arrays whatever scikit-learn's global transform_output (Z is indexed by position)
    pca = PCA(n_components=2, random_state=random_state).set_output(transform="default")
    pca.fit(basis)
    Z = pca.transform(embeddings)
    # filled markers only (edges are drawn); the known kinds first, then any others
    markers = {"real": "o", "GMSS": "^", "SASS": "*"}
    spare = itertools.cycle(["s", "D", "v", "P", "X", "p", "h", "<", ">", "8"])
    kind_list = _sorted(set(kinds.tolist()))
    for kind in kind_list:
        if str(kind) not in markers:
            markers[str(kind)] = next(spare)
    class_list = _sorted(set(labels.tolist()))
    palette = dict(zip(class_list, _class_colours(len(class_list)), strict=True))
    fig = _figure((6.8 if len(class_list) <= 20 else 6, 5))
    ax = fig.subplots()
    for kind in kind_list:
        sel = kinds == kind
        ax.scatter(
            Z[sel, 0],
            Z[sel, 1],
            c=[palette[c] for c in labels[sel].tolist()],
            marker=markers[str(kind)],
            s=14 if kind == "real" else 28,
            alpha=0.35 if kind == "real" else 0.9,
            label=str(kind),
            edgecolors="none" if kind == "real" else "k",
            linewidths=0.3,
        )
    ax.set_xlabel(f"PC 1 (fitted on {'real' if real.any() else 'all'} embeddings)")
    ax.set_ylabel("PC 2")
    from matplotlib.lines import Line2D

    # the kind key in grey: a scatter's own handle takes the colour of its first class
    kind_handles = [
        Line2D(
            [], [], ls="", marker=markers[str(kind)], color="0.5", mec="k", mew=0.3, label=str(kind)
        )
        for kind in kind_list
    ]
    kinds_legend = ax.legend(
        handles=kind_handles, fontsize=8, loc="upper left", title="kind", title_fontsize=8
    )
    if len(class_list) <= 20:  # a colour key; beyond 20 colours it could not be read anyway
        handles = [
            Line2D([], [], ls="", marker="o", color=palette[c], label=_short(class_name(c)))
            for c in class_list
        ]
        ax.add_artist(kinds_legend)
        ax.legend(
            handles=handles,
            fontsize=7,
            title="class",
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0,
        )
    default_title = "embeddings: colour = class, marker = kind"
    if len(class_list) > 20:
        default_title += f"\n({len(class_list)} classes: too many for a colour key)"
    ax.set_title(title or default_title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_gain_bars(
    gains, errors=None, *, ylabel="accuracy gain over none (points)", title=None, path=None
):
    """Grouped bar chart of a metric per method (groups) and model (bars).

    Parameters
    ----------
    gains : dict of dict
        ``{method: {model: value}}``.
    errors : dict of dict, optional
        Same layout; drawn as error bars (e.g. sd over subjects).
    ylabel, title : str
    path : str or Path, optional
        Save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_gain_bars({"classic": {"LDA": 0.5, "CNN": 1.0}, "SASS": {"LDA": -0.2, "CNN": 2.0}})
    """
    path = _check_path(path, "plot_gain_bars")
    gains = _gain_table(gains, "gains")
    errors = None if errors is None else _gain_table(errors, "errors", allow_empty=True)
    if errors is not None:
        stray = sorted(map(str, set(errors) - set(gains)))
        if stray:
            raise ValueError(
                f"plot_gain_bars: errors has method(s) {stray} that gains lacks; give errors the "
                "methods of gains."
            )
    methods = list(gains)
    models = _sorted({m for row in gains.values() for m in row})
    width = 0.8 / max(1, len(models))
    fig = _figure((1.6 * len(methods) + 2, 3.6))
    ax = fig.subplots()
    x = np.arange(len(methods))
    bars = []
    for k, model in enumerate(models):
        vals = [gains[m].get(model, np.nan) for m in methods]
        errs = None
        if errors is not None:
            errs = [errors.get(m, {}).get(model, np.nan) for m in methods]
        bars.append(
            ax.bar(x + (k - (len(models) - 1) / 2) * width, vals, width, yerr=errs, capsize=2)
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if models:
        # the names set after the legend is made: matplotlib < 3.10 leaves out an entry
        # whose label starts with "_" (a model named "_x") even with its handle given
        legend = ax.legend(bars, [f"model {k}" for k in range(len(models))], fontsize=8)
        for text, model in zip(legend.get_texts(), models, strict=True):
            text.set_text(str(model))
    fig.tight_layout()
    return _save(fig, path)


def _gain_table(table, name, allow_empty=False):
    """``{method: {model: float}}`` checked: real numbers (NaN: no bar), one level of nesting."""
    if not isinstance(table, Mapping) or (not table and not allow_empty):
        raise ValueError(
            f"plot_gain_bars: {name} must be a non-empty dict of dicts, {{method: {{model: "
            f"value}}}}, e.g. {{'classic': {{'LDA': 0.5}}}}; got {type(table).__name__} "
            f"{table!r:.80}."
        )
    checked = {}
    for method, row in table.items():
        if not isinstance(row, Mapping):
            raise ValueError(
                f"plot_gain_bars: {name}[{method!r}] must be a dict {{model: value}}; got "
                f"{type(row).__name__} {row!r:.40}. Give each method a dict, e.g. "
                f"{{{method!r}: {{'LDA': 0.5}}}}."
            )
        values = {}
        for model, value in row.items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise ValueError(
                    f"plot_gain_bars: {name}[{method!r}][{model!r}] must be a number; got "
                    f"{type(value).__name__} {value!r:.40}. Convert values read from text first "
                    "(float(value)); use NaN for a missing bar."
                )
            value = float(value)  # a Fraction or a numpy number, as a float
            if np.isinf(value):
                raise ValueError(
                    f"plot_gain_bars: {name}[{method!r}][{model!r}] is infinite, which no bar "
                    "can show; check how it was computed (use NaN for a missing bar)."
                )
            if name == "errors" and value < 0:
                raise ValueError(
                    f"plot_gain_bars: errors[{method!r}][{model!r}] is {value:g}; an error bar "
                    "is a spread (sd or CI half-width), which is not negative. Pass its size "
                    "(abs(value))."
                )
            values[model] = value
        checked[method] = values
    return checked
