"""Figures: drawn without pyplot, on checked input."""

import matplotlib
import numpy as np
import pytest

from semgaug_sk.plotting import plot_embedding_map, plot_gain_bars, plot_real_vs_synthetic

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 2, 20))
Y = np.repeat([0, 1, 2], 4)


def test_figures_leave_the_backend_and_pyplot_alone(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    # an interactive backend with no display (macOS, Windows, a remote Jupyter kernel)
    # used to be switched to Agg for the whole session
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    before, n_open = matplotlib.get_backend(), len(plt.get_fignums())
    figs = [
        plot_real_vs_synthetic(X, Y, X, Y, path=tmp_path / "a.png"),
        plot_embedding_map(RNG.standard_normal((30, 4)), np.arange(30) % 3, ["real"] * 30),
        plot_gain_bars({"classic": {"LDA": 0.5}}, path=tmp_path / "b.png"),
    ]
    assert matplotlib.get_backend() == before and len(plt.get_fignums()) == n_open
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.png").stat().st_size > 0


def test_plots_refuse_input_they_would_draw_blank_or_wrong():
    bad = X.copy()
    bad[0, 0, 0] = np.nan  # used to make every trace NaN: a blank figure
    with pytest.raises(ValueError, match="X_real contains NaN"):
        plot_real_vs_synthetic(bad, Y, X, Y)
    with pytest.raises(ValueError, match=r"classes \[7\] are not in both"):
        plot_real_vs_synthetic(X, Y, X, Y, classes=[7])
    with pytest.raises(ValueError, match="at least 2 embeddings of at least 2 dimensions"):
        plot_embedding_map(RNG.standard_normal((5, 1)), np.zeros(5), ["real"] * 5)
    with pytest.raises(ValueError, match="one entry per embedding"):
        plot_embedding_map(RNG.standard_normal((5, 3)), np.zeros(4), ["real"] * 5)
    # one real point among others: the projection is fitted on all of them
    fig = plot_embedding_map(RNG.standard_normal((6, 3)), np.zeros(6), ["real"] + ["SASS"] * 5)
    assert "fitted on all" in fig.axes[0].get_xlabel()


def test_windows_of_another_shape_or_missing_channels_are_named():
    with pytest.raises(ValueError, match=r"real windows are \(2, 20\).*synthetic ones \(2, 15\)"):
        plot_real_vs_synthetic(X, Y, X[:, :, :15], Y)
    with pytest.raises(ValueError, match=r"X_real must be windows of shape"):
        plot_real_vs_synthetic(X[:, 0], Y, X, Y)
    with pytest.raises(ValueError, match=r"channels \[5\] do not exist; .* 2 channel"):
        plot_real_vs_synthetic(X, Y, X, Y, channels=[0, 5])
    with pytest.raises(ValueError, match=r"y_syn needs one label per window \(12\)"):
        plot_real_vs_synthetic(X, Y, X, Y[:5])
    with pytest.raises(ValueError, match=r"channels is empty"):
        plot_real_vs_synthetic(X, Y, X, Y, channels=[])
    with pytest.raises(ValueError, match=r"n_examples must be a positive integer; got -1"):
        plot_real_vs_synthetic(X, Y, X, Y, n_examples=-1)
    with pytest.raises(ValueError, match=r"classes must be a flat list of labels, e.g. \[2\]"):
        plot_real_vs_synthetic(X, Y, X, Y, classes=2)
    with pytest.raises(ValueError, match=r"labels hold NaN"):
        plot_embedding_map(RNG.standard_normal((4, 3)), np.array([0, 1, np.nan, 1]), ["real"] * 4)


def test_labels_of_mixed_types_are_drawn():
    mixed = np.array([1, 1, 1, 1, "a", "a", "a", "a", 2.5, 2.5, 2.5, 2.5], dtype=object)
    fig = plot_real_vs_synthetic(X, mixed, X, mixed)
    assert len(fig.axes) == 6
    plot_embedding_map(RNG.standard_normal((12, 3)), mixed, ["real"] * 12)
    plot_gain_bars({"classic": {1: 0.5, "LDA": 1.0}})


def test_many_classes_get_distinct_colours_a_key_and_every_kind_a_filled_marker():
    import warnings

    n = 15 * 4
    labels = np.repeat(np.arange(15), 4)
    kinds = np.array(["real", "label", "semantic", "SASS"] * 15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "edgecolor for an unfilled marker" warning
        fig = plot_embedding_map(RNG.standard_normal((n, 4)), labels, kinds)
    ax = fig.axes[0]
    colours = {tuple(np.round(c[:3], 6)) for coll in ax.collections for c in coll.get_facecolors()}
    assert len(colours) == 15
    kind_legend, class_legend = ax.artists[0], ax.get_legend()
    assert [t.get_text() for t in class_legend.get_texts()] == [str(c) for c in range(15)]
    assert {t.get_text() for t in kind_legend.get_texts()} == {"real", "label", "semantic", "SASS"}
    shapes = {tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in ax.collections}
    assert len(shapes) == 4  # four different marker shapes


def test_real_vs_synthetic_says_what_a_subset_leaves_out():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((36, 6, 20))
    y = np.repeat(np.arange(6), 6)
    fig = plot_real_vs_synthetic(X, y, X, y)
    assert fig._suptitle.get_text() == "showing 4 of 6 classes, 4 of 6 channels"
    first = fig.axes[0]
    assert first.get_title() == "class 0: real, 3 of 6 windows"
    assert [t.get_text() for t in first.get_yticklabels()] == ["ch0", "ch1", "ch2", "ch3"]
    whole = plot_real_vs_synthetic(X[:, :2], y % 2, X[:, :2], y % 2)
    assert whole._suptitle is None  # nothing left out, nothing said


def test_input_numpy_or_matplotlib_would_reject_obscurely_is_named():
    with pytest.raises(ValueError, match="X_real must be a numeric array of one shape"):
        plot_real_vs_synthetic([[[0.0, 1.0]], [[0.0]]], [0, 0], X, Y)  # ragged
    with pytest.raises(ValueError, match=r"X_real of shape \(12, 2, 0\) holds no sample"):
        plot_real_vs_synthetic(X[:, :, :0], Y, X[:, :, :0], Y)
    with pytest.raises(ValueError, match=r"channels must be integer indices; got \[0.5\]"):
        plot_real_vs_synthetic(X, Y, X, Y, channels=[0.5])
    with pytest.raises(ValueError, match="classes must be a flat list"):
        plot_real_vs_synthetic(X, Y, X, Y, classes=np.array([[0], [1]]))
    for fs in (0, -100.0, np.inf, "1000"):  # fs=0 used to label samples silently
        with pytest.raises(ValueError, match="fs must be None or a positive sampling rate"):
            plot_real_vs_synthetic(X, Y, X, Y, fs=fs)
    fig = plot_real_vs_synthetic(X, Y, X, Y, classes=np.array([0, 2]), fs=1000)
    assert fig.axes[-1].get_xlabel() == "time (ms)"


def test_embedding_map_draws_any_number_of_kinds():
    kinds = np.array([f"kind{i}" for i in range(120)])  # the spare markers ran out at 103
    fig = plot_embedding_map(RNG.standard_normal((120, 3)), np.zeros(120), kinds)
    assert len(fig.axes[0].collections) == 120


def test_embedding_map_ignores_the_global_pandas_output():
    import sklearn

    kinds = np.array(["real", "GMSS", "SASS"] * 10)
    with sklearn.config_context(transform_output="pandas"):
        fig = plot_embedding_map(RNG.standard_normal((30, 4)), np.arange(30) % 3, kinds)
    assert len(fig.axes[0].collections) == 3


@pytest.mark.parametrize(
    "gains, errors, match",
    [
        ({"classic": 0.5}, None, r"gains\['classic'\] must be a dict"),
        ([("classic", {"LDA": 1.0})], None, r"gains must be a non-empty dict of dicts"),
        ({}, None, r"gains must be a non-empty dict of dicts"),
        ({"a": {"LDA": None}}, None, r"gains\['a'\]\['LDA'\] must be a number"),
        ({"a": {"LDA": np.array([1.0, 2.0])}}, None, r"must be a number; got ndarray"),
        # numbers read from text drew categorical bars: "-1.5" above "0.5"
        ({"a": {"LDA": "0.5"}, "b": {"LDA": "-1.5"}}, None, r"float\(value\)"),
        ({"a": {"LDA": 1.0}}, {"a": 0.3}, r"errors\['a'\] must be a dict"),
        ({"a": {"LDA": 1.0}}, {"b": {"LDA": 0.3}}, r"errors has method\(s\) \['b'\]"),
        # an infinite gain drew an empty chart; a negative error failed inside matplotlib
        ({"a": {"LDA": np.inf}}, None, r"gains\['a'\]\['LDA'\] is infinite"),
        ({"a": {"LDA": 1.0}}, {"a": {"LDA": -0.3}}, r"errors\['a'\]\['LDA'\] is -0.3.*spread"),
    ],
)
def test_gain_bars_refuse_what_they_would_draw_wrong(gains, errors, match):
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match=match):
        plot_gain_bars(gains, errors)
    assert plt.get_fignums() == []


def test_gain_bars_take_numpy_numbers_and_nan_as_a_missing_bar():
    fig = plot_gain_bars({"a": {"LDA": np.float32(1.5), "STC": np.nan}, "b": {"LDA": np.int64(-1)}})
    heights = sorted(p.get_height() for p in fig.axes[0].patches if np.isfinite(p.get_height()))
    assert heights == [-1.0, 1.5]


def test_embedding_map_refuses_nan_kinds_and_embeddings_that_do_not_vary():
    rng = np.random.default_rng(0)
    emb, labels = rng.normal(size=(6, 3)), np.array([0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="kinds hold NaN"):
        plot_embedding_map(emb, labels, np.array([0.0, 1.0, np.nan, 0.0, 1.0, 0.0]))
    same = np.ones((6, 3))
    with pytest.raises(ValueError, match="real embeddings are all the same point"):
        plot_embedding_map(same, labels, np.array(["real"] * 3 + ["SASS"] * 3))


def test_real_and_synthetic_share_one_amplitude_range_with_its_scale():
    # each panel had its own y-range: synthetic windows at a tenth of the real amplitude
    # looked the same
    rng = np.random.default_rng(0)
    X1 = rng.standard_normal((12, 1, 50))
    y = np.repeat([0, 1], 6)
    fig = plot_real_vs_synthetic(X1, y, 0.1 * X1, y)
    real, synthetic = fig.axes[0], fig.axes[1]
    assert real.get_ylim() == synthetic.get_ylim()
    assert real.get_ylabel().startswith("channels ") and real.get_ylabel().endswith(" apart")


def test_sixteen_channels_get_sixteen_colours_and_long_labels_are_cut():
    rng = np.random.default_rng(0)
    X16 = rng.standard_normal((8, 16, 20))
    y = np.repeat(["a very long gesture name that would run across both columns", "b"], 4)
    fig = plot_real_vs_synthetic(X16, y, X16, y, channels=list(range(16)), n_examples=1)
    ax = fig.axes[0]
    assert len({tuple(np.round(line.get_color(), 6)) for line in ax.lines}) == 16
    assert len(ax.get_title()) < 60 and "…" in ax.get_title()


def test_the_kind_key_is_grey_and_many_classes_say_the_colour_key_is_left_out():
    labels = np.repeat(np.arange(25), 2)
    kinds = np.array(["real", "SASS"] * 25)
    fig = plot_embedding_map(RNG.standard_normal((50, 4)), labels, kinds)
    ax = fig.axes[0]
    kind_legend = ax.get_legend()  # the only legend: no class key for 25 classes
    assert {h.get_color() for h in kind_legend.legend_handles} == {"0.5"}
    assert "25 classes: too many for a colour key" in ax.get_title()


def test_a_model_named_with_a_leading_underscore_keeps_its_legend_entry():
    fig = plot_gain_bars({"classic": {"_lda": 1.0, "cnn": 2.0}})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["_lda", "cnn"]


def test_gain_bars_take_any_real_number():
    from fractions import Fraction

    fig = plot_gain_bars({"a": {"m": Fraction(1, 2)}}, {"a": {"m": Fraction(1, 4)}})
    assert [p.get_height() for p in fig.axes[0].patches] == [0.5]


def test_class_names_label_the_panels_and_the_colour_key():
    names = {0: "rest", 1: "fist"}  # class 2 unnamed: shown as its code
    fig = plot_real_vs_synthetic(X, Y, X, Y, class_names=names)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("class rest: real") and titles[3].startswith("class fist")
    assert titles[4].startswith("class 2: real")
    fig = plot_embedding_map(
        RNG.standard_normal((12, 3)), Y, np.array(["real", "SASS"] * 6), class_names=names
    )
    class_key = fig.axes[0].get_legend()  # the last legend added is the class key
    assert [t.get_text() for t in class_key.get_texts()] == ["rest", "fist", "2"]
    with pytest.raises(ValueError, match="class_names must be a dict"):
        plot_real_vs_synthetic(X, Y, X, Y, class_names=["rest", "fist", "pinch"])


def test_complex_windows_are_refused_rather_than_cut_to_their_real_part():
    with pytest.raises(ValueError, match=r"complex numbers.*np.abs"):
        plot_real_vs_synthetic(X + 1j, Y, X, Y)
    with pytest.raises(ValueError, match="complex numbers"):
        plot_embedding_map(RNG.standard_normal((12, 3)) * 1j, Y, np.array(["real"] * 12))


GAINS = {"classic": {"LDA": 0.5}}


@pytest.mark.parametrize(
    "plot",
    [
        lambda path: plot_real_vs_synthetic(X, Y, X, Y, path=path),
        lambda path: plot_embedding_map(RNG.standard_normal((12, 3)), Y, ["real"] * 12, path=path),
        lambda path: plot_gain_bars(GAINS, path=path),
    ],
    ids=["real_vs_synthetic", "embedding_map", "gain_bars"],
)
def test_a_path_matplotlib_would_mishandle_is_refused_before_drawing(tmp_path, plot):
    # a folder: matplotlib would write "<folder>.png" beside it
    with pytest.raises(IsADirectoryError, match=r"^plot_\w+: path .* is a folder; name a file"):
        plot(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"is a folder"):
        plot(str(tmp_path / "figs") + "/")  # not yet there: Path() would drop the slash
    assert list(tmp_path.parent.glob(tmp_path.name + ".*")) == []
    assert list(tmp_path.glob("figs*")) == []
    with pytest.raises(FileNotFoundError, match=r"^plot_\w+: the folder .* does not exist"):
        plot(tmp_path / "missing" / "figure.png")
    with pytest.raises(ValueError, match=r"^plot_\w+: cannot save a figure as '\.foo'; use one of"):
        plot(tmp_path / "figure.foo")
    with pytest.raises(TypeError, match=r"^plot_\w+: path must be a str"):
        plot(3.5)
    plot(str(tmp_path / "figure.svg").encode())
    assert (tmp_path / "figure.svg").stat().st_size > 0


def test_messages_name_the_plot_that_raised_them():
    with pytest.raises(ValueError, match=r"^plot_real_vs_synthetic: no class is present .*label"):
        plot_real_vs_synthetic(X, Y, X, Y + 10)
    with pytest.raises(ValueError, match=r"^plot_real_vs_synthetic: X_syn contains NaN"):
        plot_real_vs_synthetic(X, Y, X * np.nan, Y)
    with pytest.raises(ValueError, match=r"^plot_embedding_map: labels and kinds need one entry"):
        plot_embedding_map(RNG.standard_normal((12, 3)), Y[:5], ["real"] * 12)
