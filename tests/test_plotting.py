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
