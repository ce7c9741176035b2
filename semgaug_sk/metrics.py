"""Quality metrics for synthetic data, computed on embeddings.

Every function compares a set of real samples with a set of synthetic ones,
both given as 2-D arrays ``(n_samples, n_features)`` (typically the embeddings
of an evaluation encoder that did not guide the generator, see
:class:`semgaug_sk.SemanticEncoder`). Distances are Euclidean and computed in
float64; the k-NN searches and the local outlier factor are scikit-learn's.

- :func:`frechet_distance`: FID-style Fréchet distance of two Gaussians (Heusel et al. 2017).
- :func:`classification_accuracy_score`: CAS, train on synthetic, test on real
  (Ravuri & Vinyals 2019).
- :func:`avg_knn_distance`: mean distance of synthetic samples to their nearest real ones.
- :func:`lof_score`: local outlier factor of synthetic samples w.r.t. the real ones
  (Breunig et al. 2000).
- :func:`rarity_score`: rarity of each synthetic sample (Han et al. 2023).
- :func:`precision_recall_density_coverage`: k-NN manifold precision/recall
  (Kynkäänniemi et al. 2019), density/coverage (Naeem et al. 2020).
- :func:`evaluate_synthetic`: all of the above in one dictionary.
- :func:`fidelity_report`: per-class fidelity of synthetic *windows*: amplitude and
  within-window spread ratios, log-PSD distance, and FID/coverage in an evaluation
  encoder's space.

The k-NN ball ("manifold") metrics all use the same radius: the distance of a
real sample to its k-th nearest *other* real sample, and a point is inside a
ball when its distance to the centre is strictly smaller than the radius (the
``<`` of the reference implementations).
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np
import scipy.signal
import scipy.spatial.distance
from sklearn import get_config
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import gen_batches

from .utils.chunked import row_blocks
from .utils.validation import (
    caller_stacklevel,
    check_windows,
    continuous_labels_message,
    object_labels_as_numbers,
    unsortable_types,
)

__all__ = [
    "frechet_distance",
    "classification_accuracy_score",
    "avg_knn_distance",
    "lof_score",
    "rarity_score",
    "precision_recall_density_coverage",
    "evaluate_synthetic",
    "fidelity_report",
    "feature_shift",
]


# -- validation -----------------------------------------------------------------------------
def _names_itself(func):
    """Prefix the ``ValueError``/``TypeError`` messages raised inside ``func`` with its name.

    The checks below are shared by every metric; the prefix tells the user which call
    rejected its input (``evaluate_synthetic`` calls several metrics in turn).
    """
    prefix = f"{func.__name__}: "

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if message.startswith(prefix):
                raise
            try:
                renamed = type(exc)(prefix + message)
            except Exception:  # an exception type with another signature: leave it as is
                raise exc from None
            raise renamed.with_traceback(exc.__traceback__) from None

    return wrapper


def _check_samples(X, name, *, allow_nd=False, min_samples=1, why=""):
    """Return ``X`` as a finite float64 array of 2-D samples (N-D when ``allow_nd``)."""
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; pass a dense array (use {name}.toarray()).")
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} has a non-numeric or complex dtype ({arr.dtype}); pass real-valued "
            f"embeddings, e.g. np.asarray({name}, dtype=float)."
        )
    arr = arr.astype(np.float64, copy=False)
    if allow_nd:
        if arr.ndim < 2:
            raise ValueError(
                f"{name} must have one row per sample (2-D features or 3-D windows); got a "
                f"{arr.ndim}-D array of shape {arr.shape}. Use {name}.reshape(-1, 1) for one feature."
            )
    elif arr.ndim != 2:
        hint = (
            "Embed 3-D windows first (e.g. SemanticEncoder.transform or EMGFeatures.transform)."
            if arr.ndim == 3
            else f"Use {name}.reshape(-1, 1) for a single feature."
        )
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features); got a {arr.ndim}-D array of "
            f"shape {arr.shape}. {hint}"
        )
    if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == 0:
        raise ValueError(
            f"{name} has 0 features per sample (shape {arr.shape}); pass non-empty rows."
        )
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} sample(s); at least {min_samples} are needed{why}. "
            "Pass more samples or lower k / n_neighbors."
        )
    if not np.isfinite(arr).all():
        n_bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s); drop those rows first "
            f"(e.g. {name}[np.isfinite({name}).all(axis=1)])."
        )
    return arr


def _check_label_kinds(a, b, name_a, name_b):
    """Numbers in one label array and strings in the other never match: say so."""
    numeric_a, numeric_b = a.dtype.kind in "biuf", b.dtype.kind in "biuf"
    if numeric_a != numeric_b:
        kinds = {True: "numbers", False: "strings/objects"}
        raise ValueError(
            f"{name_a} holds {kinds[numeric_a]} but {name_b} holds {kinds[numeric_b]}, so no "
            f"class can match; label both the same way (e.g. {name_a}.astype(str) and "
            f"{name_b}.astype(str))."
        )


def _check_k(k, name="k"):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {k!r}.")
    return int(k)


def _check_pair(real, synthetic, *, min_real=1, min_syn=1, why_real="", why_syn="", centre=False):
    """Validated real and synthetic samples; ``centre`` subtracts the real mean from both.

    Distances are invariant to that shift, but the fast Euclidean distances of
    scikit-learn (``|a|^2 + |b|^2 - 2ab``) lose their precision when the samples lie far
    from the origin compared with their spread: centred, the k-NN metrics read the same
    wherever the embeddings sit.
    """
    real = _check_samples(real, "real", min_samples=min_real, why=why_real)
    synthetic = _check_samples(synthetic, "synthetic", min_samples=min_syn, why=why_syn)
    if real.shape[1] != synthetic.shape[1]:
        raise ValueError(
            f"real and synthetic have different dimensions ({real.shape[1]} vs "
            f"{synthetic.shape[1]} features); embed both with the same encoder."
        )
    if centre:
        mean = real.mean(axis=0)
        real, synthetic = real - mean, synthetic - mean
    return real, synthetic


def _check_labels(y, n, name, n_name):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    y = object_labels_as_numbers(y)  # a pandas column of integers or bools, as estimators take it
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one label per sample; got shape {y.shape}.")
    if len(y) != n:
        raise ValueError(
            f"{name} has {len(y)} labels but {n_name} has {n} samples; pass one label per sample."
        )
    if y.dtype.kind == "c" or (y.dtype.kind == "f" and not np.isfinite(y).all()):
        raise ValueError(
            f"{name} contains complex, NaN or infinite labels; class labels must be integers or "
            "strings. Drop those samples first."
        )
    if y.dtype.kind == "f" and (y != np.round(y)).any():
        raise ValueError(continuous_labels_message(y, name))
    kinds = unsortable_types(y)
    if kinds:
        raise ValueError(
            f"{name} mixes label types ({', '.join(kinds)}), which cannot be sorted into "
            f"classes; label every sample the same way (e.g. {name}.astype(str))."
        )
    return y


# -- k-NN balls ---------------------------------------------------------------------------
#: Largest block of distances held at once (MiB).
_DISTANCE_BLOCK_MIB = 64.0


def _distance_blocks(query, centres):
    """Yield ``(rows, distances)`` from ``query`` to ``centres``, a block of rows at a time.

    Euclidean distances by ``scipy.spatial.distance.cdist``, which computes each
    pair from its difference: the same two points get the same distance in every
    block. The radii of the balls and the tests against them must agree to the
    last bit, or a point exactly on a ball's edge (a copy of a real sample, an
    integer-valued feature) falls inside or outside by round-off; the fast
    ``|a|^2 + |b|^2 - 2ab`` formula of ``pairwise_distances`` does not give
    that. A block holds at most 64 MiB of distances, or scikit-learn's
    ``working_memory`` (``sklearn.set_config(working_memory=...)``, in MiB) when that
    is less, so the ``(n_query, n_centres)`` matrix is never held whole (and blocks of
    the 1 GiB default ran twice as slowly as 64 MiB ones, out of cache).
    """
    mib = min(float(get_config()["working_memory"]), _DISTANCE_BLOCK_MIB)
    n_rows = max(1, int(mib * 2**20) // (8 * len(centres)))
    for rows in gen_batches(len(query), n_rows):
        yield rows, scipy.spatial.distance.cdist(query[rows], centres)


def _knn_radii(X, k):
    """Distance of each row of ``X`` to its k-th nearest other row (itself excluded)."""
    # each row's distance to itself is exactly 0 and sorts first (rank 0), so rank k is
    # the k-th other row; an exact duplicate counts as a neighbour at distance 0
    # filled block by block: a column view of each block would keep every block alive,
    # the whole n x n matrix, until the end
    radii = np.empty(len(X))
    for rows, block in _distance_blocks(X, X):
        block.partition(k, axis=1)  # in place: no second block-sized copy
        radii[rows] = block[:, k]
    return radii


def _ball_statistics(real, synthetic, k, *, synthetic_balls=True, real_radii=None):
    """What the k-NN ball metrics need, from one pass over the synthetic-to-real distances.

    Returns a dict: ``real_radii``; per synthetic sample ``n_real_balls`` (how many real
    balls contain it, strictly) and ``smallest`` (the smallest such radius, inf if none);
    with ``synthetic_balls``, per real sample ``in_synthetic_ball`` (inside some synthetic
    sample's ball) and ``nearest_synthetic`` (distance to the nearest synthetic sample).
    ``real_radii`` given (from :func:`_real_balls`) skips their computation.
    """
    real_radii = _knn_radii(real, k) if real_radii is None else real_radii
    syn_radii = _knn_radii(synthetic, k) if synthetic_balls else None
    n_real_balls = np.zeros(len(synthetic), dtype=np.intp)
    smallest = np.full(len(synthetic), np.inf)
    in_syn_ball = np.zeros(len(real), dtype=bool)
    nearest = np.full(len(real), np.inf)
    for rows, block in _distance_blocks(synthetic, real):  # (synthetic rows, real)
        inside = block < real_radii[np.newaxis, :]
        n_real_balls[rows] = inside.sum(axis=1)
        smallest[rows] = np.where(inside, real_radii[np.newaxis, :], np.inf).min(axis=1)
        if synthetic_balls:  # the same distances read by column (cdist is symmetric, exactly)
            in_syn_ball |= (block < syn_radii[rows, np.newaxis]).any(axis=0)
            np.minimum(nearest, block.min(axis=0), out=nearest)
    stats = {"real_radii": real_radii, "n_real_balls": n_real_balls, "smallest": smallest}
    if synthetic_balls:
        stats.update(in_synthetic_ball=in_syn_ball, nearest_synthetic=nearest)
    return stats


def _rarity_from(stats):
    outside = stats["n_real_balls"] == 0
    return np.where(outside, np.nan, stats["smallest"]), outside


def _real_balls(real, k):
    """The real k-NN balls of :func:`rarity_score`, computed once for many synthetic sets.

    The radii cost a neighbour search over the real samples (quadratic in their number);
    a caller scoring many batches against one real set (SASS, block by block) computes
    them once and passes them to :func:`_rarity_in_balls`.

    Parameters
    ----------
    real : ndarray of float64 of shape (n_real, n_features)
        Finite, at least ``k + 1`` rows (not checked: see :func:`rarity_score`).
    k : int

    Returns
    -------
    balls : tuple
        ``(mean, centred real samples, radii)``, for :func:`_rarity_in_balls`.

    Examples
    --------
    >>> real = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> _rarity_in_balls(_real_balls(real, k=1), np.array([[0.2], [6.0], [30.0]]))[0]
    array([ 1.,  8., nan])
    """
    mean = real.mean(axis=0)
    centred = real - mean
    return mean, centred, _knn_radii(centred, k)


def _rarity_in_balls(balls, synthetic):
    """:func:`rarity_score` of ``synthetic`` against balls from :func:`_real_balls`.

    Parameters
    ----------
    balls : tuple
        :func:`_real_balls`'s output.
    synthetic : ndarray of float64 of shape (n_synthetic, n_features)

    Returns
    -------
    scores : ndarray of shape (n_synthetic,)
        NaN outside every ball.
    outside : ndarray of bool of shape (n_synthetic,)
    """
    mean, centred, radii = balls
    stats = _ball_statistics(
        centred, synthetic - mean, None, synthetic_balls=False, real_radii=radii
    )
    return _rarity_from(stats)


def _prdc_from(stats, k):
    n_real_balls = stats["n_real_balls"]
    return {
        "precision": float(np.mean(n_real_balls > 0)),
        "recall": float(np.mean(stats["in_synthetic_ball"])),
        "density": float(n_real_balls.sum() / (k * len(n_real_balls))),
        "coverage": float(np.mean(stats["nearest_synthetic"] < stats["real_radii"])),
    }


# -- metrics ------------------------------------------------------------------------------
def _clip_null(eigenvalues):
    """Zero the eigenvalues of a PSD matrix that are round-off (as ``matrix_rank`` does).

    Below ``n * eps * max|λ|`` an eigenvalue is numerically zero; left as is, its
    square root (~1e-8 for a 1e-16 round-off) would bias the trace term.
    """
    tol = len(eigenvalues) * np.finfo(np.float64).eps * max(np.abs(eigenvalues).max(), 0.0)
    return np.where(eigenvalues > tol, eigenvalues, 0.0)


def _psd_sqrt(cov):
    """Symmetric square root of a covariance (round-off eigenvalues set to 0)."""
    w, v = np.linalg.eigh(cov)
    return (v * np.sqrt(_clip_null(w))) @ v.T


@_names_itself
def frechet_distance(real, synthetic):
    r"""Fréchet distance between Gaussians fitted to real and synthetic samples (FID).

    .. math::

        d^2 = \lVert \mu_r - \mu_s \rVert^2
              + \operatorname{Tr}\bigl(C_r + C_s - 2 (C_r C_s)^{1/2}\bigr)

    with the sample means and (unbiased) covariances of the two sets. Computed
    on encoder embeddings this is the Fréchet Inception Distance of Heusel et
    al. (2017), "GANs trained by a two time-scale update rule converge to a
    local Nash equilibrium", NeurIPS.

    **Numerics.** :math:`C_r C_s` is not symmetric, so a general matrix square
    root (``scipy.linalg.sqrtm``, Schur-based) may return complex values or
    fail when a covariance is singular (fewer samples than dimensions, a
    common case here), which is why FID code adds ``eps * I`` and drops the
    imaginary part. Only the trace is needed, and
    :math:`\operatorname{Tr}(C_r C_s)^{1/2} = \operatorname{Tr}(C_r^{1/2} C_s C_r^{1/2})^{1/2}`
    (the two matrices are similar, and the identity extends to singular
    :math:`C_r` by continuity), which is the sum of the singular values of
    :math:`C_s^{1/2} C_r^{1/2}`. Each square root comes from ``eigh`` (real by
    construction; eigenvalues below ``n * eps * max|λ|``, including tiny negative
    ones, are round-off and set to 0), and the singular values need no product to
    be squared, so small variances keep their precision. No offset, no complex
    arithmetic, no imaginary part to discard.

    **Sample size.** FID is biased upwards by a term that shrinks with the number
    of samples: two sets of 32-dimensional embeddings drawn from one distribution
    give about 12 at 50 samples each and 0.6 at 1,000. Compare values computed at
    equal sizes only, and expect instability when a set has fewer samples than
    dimensions. Lower is better; the unit is that of the embeddings, squared.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real embeddings (at least 2 rows).
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings (at least 2 rows).

    Returns
    -------
    distance : float
        The squared Fréchet distance (as reported by FID), >= 0; 0 for
        identical sets.

    Examples
    --------
    >>> import numpy as np
    >>> round(frechet_distance([[-1.0], [1.0]], [[2.0], [6.0]]), 6)
    18.0
    """
    why = " to estimate a covariance"
    real, synthetic = _check_pair(real, synthetic, min_real=2, min_syn=2, why_real=why, why_syn=why)
    diff = real.mean(axis=0) - synthetic.mean(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by name
        cov_r = np.atleast_2d(np.cov(real, rowvar=False))
        cov_s = np.atleast_2d(np.cov(synthetic, rowvar=False))
    for name, cov in (("real", cov_r), ("synthetic", cov_s)):
        if not np.isfinite(cov).all():
            raise ValueError(
                f"the covariance of the {name} embeddings overflows float64 (values near "
                f"{np.abs(real if name == 'real' else synthetic).max():.3g}); rescale both sets "
                "by the same factor first (the distance scales with its square)."
            )
    # Tr (C_r^1/2 C_s C_r^1/2)^1/2 = the sum of the singular values of C_s^1/2 C_r^1/2:
    # no product is squared, so small variances are not lost to round-off
    trace_sqrt = np.linalg.svd(_psd_sqrt(cov_s) @ _psd_sqrt(cov_r), compute_uv=False).sum()
    value = diff @ diff + np.trace(cov_r) + np.trace(cov_s) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


@_names_itself
def classification_accuracy_score(X_syn, y_syn, X_test, y_test, estimator=None):
    """Classification Accuracy Score: train on synthetic data, test on real data.

    Ravuri & Vinyals (2019), "Classification Accuracy Score for Conditional
    Generative Models", NeurIPS. A clone of ``estimator`` is fitted on the
    synthetic samples only and scored (accuracy) on held-out real samples; a
    high CAS means the synthetic set carries the class information of the
    real data.

    Parameters
    ----------
    X_syn : array-like of shape (n_synthetic, ...)
        Synthetic samples: 2-D features/embeddings, or 3-D windows when
        ``estimator`` handles them (e.g. a pipeline starting with
        :class:`semgaug_sk.EMGFeatures`).
    y_syn : array-like of shape (n_synthetic,)
        Labels of the synthetic samples (at least 2 classes).
    X_test : array-like of shape (n_test, ...)
        Real test samples, same per-sample shape as ``X_syn``.
    y_test : array-like of shape (n_test,)
        Labels of the real test samples.
    estimator : classifier, optional
        Any scikit-learn classifier; it is cloned, never modified. Default:
        ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``,
        which needs 2-D input.

    Returns
    -------
    cas : float
        Accuracy on the real test samples, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X_syn = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(6, 1, (20, 2))]
    >>> X_test = np.r_[rng.normal(0, 1, (10, 2)), rng.normal(6, 1, (10, 2))]
    >>> y = np.repeat([0, 1], 20); y_test = np.repeat([0, 1], 10)
    >>> classification_accuracy_score(X_syn, y, X_test, y_test)
    1.0
    """
    X_syn = _check_samples(X_syn, "X_syn", allow_nd=True)
    X_test = _check_samples(X_test, "X_test", allow_nd=True)
    if X_syn.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"X_syn and X_test have different per-sample shapes ({X_syn.shape[1:]} vs "
            f"{X_test.shape[1:]}); compute both with the same encoder/feature layout."
        )
    y_syn = _check_labels(y_syn, len(X_syn), "y_syn", "X_syn")
    y_test = _check_labels(y_test, len(X_test), "y_test", "X_test")
    _check_label_kinds(y_syn, y_test, "y_syn", "y_test")
    seen = np.unique(y_syn)
    if len(seen) < 2:
        raise ValueError(
            f"y_syn has {len(seen)} class; CAS needs synthetic samples of at least 2 classes. "
            "Generate samples of every class in y_test."
        )
    unseen = np.setdiff1d(np.unique(y_test), seen)
    if len(unseen):
        warnings.warn(
            f"y_test contains classes {unseen.tolist()!r} absent from y_syn; they can only be "
            "misclassified, which lowers CAS.",
            UserWarning,
            stacklevel=3,  # the caller, past _names_itself's wrapper
        )
    if estimator is None:
        if X_syn.ndim != 2:
            raise ValueError(
                f"The default CAS classifier takes 2-D features, but X_syn is {X_syn.ndim}-D. "
                "Embed the windows first, or pass an estimator that accepts windows (e.g. "
                "make_pipeline(EMGFeatures(), LinearDiscriminantAnalysis()))."
            )
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise TypeError(
                f"estimator must be a scikit-learn classifier "
                f"(with fit and predict), e.g. LinearDiscriminantAnalysis(); got {estimator!r}."
            )
        model = clone(estimator)
    model.fit(X_syn, y_syn)
    return float(accuracy_score(y_test, model.predict(X_test)))


@_names_itself
def avg_knn_distance(real, synthetic, k=5, *, per_sample=False):
    """Average distance of synthetic samples to their k nearest real samples (AvgKNN).

    For each synthetic sample :math:`s_j`, the mean Euclidean distance to its
    ``k`` nearest real samples, :math:`\\frac1k \\sum_{i=1}^k \\lVert s_j - r_{(i)}\\rVert`;
    the metric is the mean of that over the synthetic samples. Small values
    mean the synthetic samples sit close to real ones (memorisation when
    ~0); large values mean they lie away from the real data. This is the
    AvgKNN of the SASG-DA evaluation (Liu et al., arXiv 2511.08344), with the
    neighbour search of :class:`sklearn.neighbors.NearestNeighbors`.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real embeddings (at least ``k`` rows).
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings.
    k : int, default=5
        Number of real neighbours averaged.
    per_sample : bool, default=False
        Return the per-sample distances instead of their mean.

    Returns
    -------
    distance : float or ndarray of shape (n_synthetic,)

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.array([[x, y] for x in range(5) for y in range(5)], dtype=float)
    >>> round(avg_knn_distance(grid, [[2.0, 2.0]], k=5), 6)
    0.8
    """
    k = _check_k(k)
    real, synthetic = _check_pair(
        real, synthetic, min_real=k, why_real=f" for k={k} neighbours", centre=True
    )
    dist, _ = NearestNeighbors(n_neighbors=k).fit(real).kneighbors(synthetic)
    values = dist.mean(axis=1)
    return values if per_sample else float(values.mean())


@_names_itself
def lof_score(real, synthetic, n_neighbors=20, *, per_sample=False):
    """Local outlier factor of synthetic samples with respect to the real ones.

    A :class:`sklearn.neighbors.LocalOutlierFactor` with ``novelty=True`` is
    fitted on the real samples and evaluates each synthetic one (Breunig et
    al. 2000, "LOF: identifying density-based local outliers", SIGMOD).

    **Sign convention.** The value returned is the LOF itself,
    ``-LocalOutlierFactor.score_samples``: positive, about 1 for a sample as
    dense as its real neighbourhood (an inlier), clearly above 1 for an
    outlier (e.g. 1.5+), below 1 for a sample denser than its neighbours.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real embeddings (more than ``n_neighbors`` rows). Exact repeats are counted
        once, with a warning: LOF's density is infinite at a repeated point.
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings.
    n_neighbors : int, default=20
        Neighbourhood size of the LOF (scikit-learn's default); lowered, with the
        same warning, when fewer distinct real samples remain.
    per_sample : bool, default=False
        Return the per-sample LOF instead of its mean.

    Returns
    -------
    lof : float or ndarray of shape (n_synthetic,)

    Examples
    --------
    >>> import numpy as np
    >>> real = np.random.default_rng(0).normal(size=(200, 2))
    >>> lof_score(real, [[0.0, 0.0]]) < 1.5, lof_score(real, [[10.0, 10.0]]) > 3
    (True, True)
    """
    n_neighbors = _check_k(n_neighbors, "n_neighbors")
    real, synthetic = _check_pair(
        real,
        synthetic,
        min_real=n_neighbors + 1,
        why_real=f" for n_neighbors={n_neighbors}",
        centre=True,
    )
    # LOF is a ratio of densities, so one common scale leaves it unchanged, except for
    # scikit-learn's absolute 1e-10 in the reachability density, which dominates samples
    # of small magnitude (variances in V^2): read in units of the real samples' largest
    # coordinate (not their RMS, whose squares overflow or underflow at extreme scales)
    spread = float(np.max(np.abs(real)))
    if spread > 0:
        real, synthetic = real / spread, synthetic / spread
    distinct = np.unique(real, axis=0)
    if len(distinct) < len(real):
        # at a point repeated n_neighbors times the local density is infinite, and every
        # synthetic sample near it gets an LOF of 1e7 and more (scikit-learn warns about
        # this only without novelty)
        usable = min(n_neighbors, len(distinct) - 1)
        warnings.warn(
            f"lof_score: {len(real) - len(distinct)} of the {len(real)} real samples repeat "
            "another exactly (quantised recordings, copied windows); LOF's density is "
            "infinite at repeated points, so each is counted once"
            + (
                f", and n_neighbors is lowered to {usable} for the {len(distinct)} distinct ones."
                if usable < n_neighbors
                else "."
            ),
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
        if usable < 1:
            values = np.full(len(synthetic), np.nan)
            return values if per_sample else float("nan")
        real, n_neighbors = distinct, usable
    lof = LocalOutlierFactor(n_neighbors=n_neighbors, novelty=True).fit(real)
    values = -lof.score_samples(synthetic)
    return values if per_sample else float(values.mean())


@_names_itself
def rarity_score(real, synthetic, k=5, return_outside=False):
    """Rarity score of each synthetic sample (Han et al. 2023).

    Han, Choi, Choi, Kim, Ha & Choi, "Rarity Score: A New Metric to
    Evaluate the Uncommonness of Synthesized Images", ICLR 2023
    (arXiv 2206.08549). Each
    real sample :math:`r_i` defines a ball of radius :math:`\\rho_i`, its
    distance to its ``k``-th nearest other real sample; a large ball marks a
    sparse (rare) region of the real data. A synthetic sample's score is the
    smallest radius among the real balls that contain it
    (:math:`\\lVert s - r_i\\rVert < \\rho_i`): the most "common" real
    neighbourhood that explains it. Higher is rarer. A sample outside every
    ball lies off the real manifold and has no score (NaN); report those
    separately with ``return_outside=True``.

    The radius is the distance to the k-th nearest *other* real sample, as in
    the paper. The authors' code exists in versions that index the sorted
    distance row differently (the sample itself at rank 0 and the radius at
    rank ``k``, as here; an older metric at rank ``k + 1``), so check which one
    a published figure used before comparing values at a given ``k``. Like
    every k-NN metric here, the score depends on the sizes of both sets: compare
    it at equal sizes.

    Distances are computed in blocks of rows, so memory stays bounded by
    scikit-learn's ``working_memory`` setting, not by ``n_synthetic * n_real``.
    A sample exactly on a ball's edge is outside it (strict ``<``): radii and
    distances come from the same exact arithmetic, so a copy of a real sample
    or an integer-valued feature is not decided by round-off.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real embeddings (at least ``k + 1`` rows).
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings.
    k : int, default=5
        Neighbour rank that sets the real balls' radii.
    return_outside : bool, default=False
        Also return the boolean mask of samples outside every real ball.

    Returns
    -------
    scores : ndarray of shape (n_synthetic,)
        Rarity of each synthetic sample; NaN for samples outside every ball.
    outside : ndarray of bool, shape (n_synthetic,)
        Only with ``return_outside=True``: ``np.isnan(scores)``.

    Examples
    --------
    >>> import numpy as np
    >>> real = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> rarity_score(real, [[0.2], [6.0], [30.0]], k=1)
    array([ 1.,  8., nan])
    """
    k = _check_k(k)
    real, synthetic = _check_pair(
        real,
        synthetic,
        min_real=k + 1,
        why_real=f" for k={k} (each real sample needs k others)",
    )
    scores, outside = _rarity_in_balls(_real_balls(real, k), synthetic)
    return (scores, outside) if return_outside else scores


@_names_itself
def precision_recall_density_coverage(real, synthetic, k=5):
    """k-NN precision, recall, density and coverage of a synthetic set.

    With :math:`\\rho_i` the distance of real sample :math:`r_i` to its k-th
    nearest other real sample and :math:`\\sigma_j` the same for synthetic
    sample :math:`s_j` among the synthetic ones, and :math:`B(c, \\rho)` the
    open ball:

    - precision = fraction of synthetic samples inside at least one real ball
      (fidelity; Kynkäänniemi et al. 2019, "Improved Precision and Recall
      Metric for Assessing Generative Models", NeurIPS);
    - recall = fraction of real samples inside at least one synthetic ball
      (diversity; same reference);
    - density = :math:`\\frac{1}{kM}\\sum_j \\#\\{i : s_j \\in B(r_i, \\rho_i)\\}`,
      a precision that counts how many real balls contain each sample (about
      1 when the two distributions match, can exceed 1);
    - coverage = fraction of real balls that contain at least one synthetic
      sample (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
      Generative Models", ICML).

    Higher is better for all four. They depend on the sizes of both sets: with
    100 real samples and synthetic ones from the same distribution, coverage is
    about 0.63 with 20 synthetic samples and 0.98 with 100. Compare them at equal
    sizes.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real embeddings (at least ``k + 1`` rows).
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings (at least ``k + 1`` rows, for the recall balls).
    k : int, default=5
        Neighbour rank that sets the radii (Naeem et al. recommend k=5).

    Returns
    -------
    scores : dict
        ``{"precision", "recall", "density", "coverage"}`` as floats.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> precision_recall_density_coverage(X, X, k=3)["coverage"]
    1.0
    """
    k = _check_k(k)
    why = f" for k={k} (each sample needs k others)"
    real, synthetic = _check_pair(
        real, synthetic, min_real=k + 1, min_syn=k + 1, why_real=why, why_syn=why, centre=True
    )
    return _prdc_from(_ball_statistics(real, synthetic, k), k)


def _coverage(real, synthetic, k):
    """Naeem et al.'s coverage: the share of real k-NN balls holding a synthetic sample.

    Only the real balls are needed, so ``k + 1`` real samples and one synthetic sample
    suffice (a class the generator collapsed onto a few windows still gets a value).
    """
    real, synthetic = _check_pair(real, synthetic, min_real=k + 1, min_syn=1, centre=True)
    real_radii = _knn_radii(real, k)
    nearest = np.full(len(real), np.inf)
    for _, block in _distance_blocks(synthetic, real):
        np.minimum(nearest, block.min(axis=0), out=nearest)
    return float(np.mean(nearest < real_radii))


_UNSUPERVISED_KEYS = (
    "fid",
    "avg_knn",
    "lof",
    "rarity",
    "rarity_outside",
    "precision",
    "recall",
    "density",
    "coverage",
)


def _unsupervised(real, synthetic, k, lof_neighbors):
    # rarity and PRDC share one pass over the distances (both centre on the real mean)
    centred_real, centred_syn = _check_pair(real, synthetic, centre=True)
    stats = _ball_statistics(centred_real, centred_syn, k)
    scores, outside = _rarity_from(stats)
    out = {
        "fid": frechet_distance(real, synthetic),
        "avg_knn": avg_knn_distance(real, synthetic, k=k),
        "lof": lof_score(real, synthetic, n_neighbors=min(lof_neighbors, len(real) - 1)),
        "rarity": float(np.mean(scores[~outside])) if (~outside).any() else float("nan"),
        "rarity_outside": float(np.mean(outside)),
    }
    out.update(_prdc_from(stats, k))
    return out


@_names_itself
def evaluate_synthetic(
    real,
    synthetic,
    *,
    y_real=None,
    y_syn=None,
    X_test=None,
    y_test=None,
    k=5,
    lof_neighbors=20,
    estimator=None,
    per_class=False,
):
    """All synthetic-data metrics in one call.

    Parameters
    ----------
    real : array-like of shape (n_real, n_features)
        Real (training) embeddings.
    synthetic : array-like of shape (n_synthetic, n_features)
        Synthetic embeddings.
    y_real, y_syn : array-like of shape (n_real,) / (n_synthetic,), optional
        Labels; ``y_syn`` is needed for CAS, both for ``per_class``.
    X_test, y_test : array-like, optional
        Held-out real embeddings and labels for CAS (train on ``synthetic``,
        test on ``X_test``). CAS is reported only when ``y_syn``, ``X_test``
        and ``y_test`` are all given.
    k : int, default=5
        Neighbour rank of AvgKNN, rarity and PRDC.
    lof_neighbors : int, default=20
        LOF neighbourhood, lowered to ``n_real - 1`` when the real set (or
        class) is smaller.
    estimator : classifier, optional
        CAS classifier (see :func:`classification_accuracy_score`).
    per_class : bool, default=False
        Also compute the unsupervised metrics within each real class
        (requires ``y_real`` and ``y_syn``). A class with fewer than ``k + 1``
        real or synthetic samples gets NaN, with a warning.

    Returns
    -------
    results : dict
        ``fid``, ``avg_knn``, ``lof`` (means), ``rarity`` (mean over samples
        inside the real manifold; NaN when none is), ``rarity_outside``
        (fraction outside every real ball), ``precision``, ``recall``,
        ``density``, ``coverage``, ``cas`` when computed, and ``per_class``
        (``{class: {metric: value}}``) when requested. Lower is closer to the
        real data for ``fid``, ``avg_knn``, ``lof`` (about 1 for inliers) and
        ``rarity_outside``; higher is better for ``precision``, ``recall``,
        ``density`` (about 1 when the distributions match), ``coverage`` and
        ``cas``; ``rarity`` measures novelty, not quality. All but ``cas``
        depend on the sizes of the two sets: compare them at equal sizes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = evaluate_synthetic(rng.normal(size=(60, 3)), rng.normal(size=(60, 3)))
    >>> sorted(res)[:4]
    ['avg_knn', 'coverage', 'density', 'fid']
    """
    k = _check_k(k)
    lof_neighbors = _check_k(lof_neighbors, "lof_neighbors")
    why = f" for k={k} (each sample needs k others)"
    real, synthetic = _check_pair(
        real, synthetic, min_real=k + 1, min_syn=k + 1, why_real=why, why_syn=why
    )
    # the arguments first: the metrics below take seconds on large sets
    test_given = (X_test is not None, y_test is not None)
    if any(test_given):
        if not all(test_given):
            raise ValueError("Pass both X_test and y_test for CAS, or neither.")
        if y_syn is None:
            raise ValueError("CAS trains on the synthetic labels: pass y_syn with X_test/y_test.")
    if per_class:
        if y_real is None or y_syn is None:
            raise ValueError("per_class=True needs both y_real and y_syn.")
        y_real = _check_labels(y_real, len(real), "y_real", "real")
        y_syn = _check_labels(y_syn, len(synthetic), "y_syn", "synthetic")
        _check_label_kinds(y_real, y_syn, "y_real", "y_syn")

    cas = None
    if all(test_given):  # first: it validates X_test and y_test, and is quick
        cas = classification_accuracy_score(synthetic, y_syn, X_test, y_test, estimator=estimator)
    results = _unsupervised(real, synthetic, k, lof_neighbors)
    if cas is not None:
        results["cas"] = cas

    if per_class:
        extra = sorted(set(np.unique(y_syn).tolist()) - set(np.unique(y_real).tolist()))
        if extra:
            warnings.warn(
                f"evaluate_synthetic: synthetic classes {extra!r} have no real sample; they "
                "are left out of per_class.",
                UserWarning,
                stacklevel=3,
            )
        per = {}
        for c in np.unique(y_real).tolist():  # Python scalars: 'fist', not np.str_('fist')
            r, s = real[y_real == c], synthetic[y_syn == c]
            if len(r) < k + 1 or len(s) < k + 1:
                warnings.warn(
                    f"evaluate_synthetic: class {c!r} has {len(r)} real and {len(s)} synthetic samples; k={k} needs "
                    f"at least {k + 1} of each, so its metrics are NaN.",
                    UserWarning,
                    stacklevel=3,
                )
                per[c] = dict.fromkeys(_UNSUPERVISED_KEYS, float("nan"))
            else:
                per[c] = _unsupervised(r, s, k, lof_neighbors)
        results["per_class"] = per
    return results


# -- fidelity of windows ------------------------------------------------------------------------
def _check_labelled_windows(real, synthetic, y_real, y_syn):
    """Real and synthetic windows of one shape, their labels, and the classes they share."""
    # float32 stays float32 (no data-sized float64 copy): the statistics are summed in
    # float64 a block at a time
    real = check_windows(real, dtype=(np.float64, np.float32), name="real")
    synthetic = check_windows(synthetic, dtype=(np.float64, np.float32), name="synthetic")
    if real.shape[1:] != synthetic.shape[1:]:
        raise ValueError(
            f"real windows have shape {real.shape[1:]} but synthetic ones {synthetic.shape[1:]}; "
            "compare windows of the same channels and length."
        )
    y_real = _check_labels(y_real, len(real), "y_real", "real")
    y_syn = _check_labels(y_syn, len(synthetic), "y_syn", "synthetic")
    _check_label_kinds(y_real, y_syn, "y_real", "y_syn")
    # compared as Python values: np.intersect1d would cast 0 to '0' and match a str label
    syn_classes = set(np.unique(y_syn).tolist())
    shared = np.array([c for c in np.unique(y_real).tolist() if c in syn_classes])
    if len(shared) == 0:
        raise ValueError(
            "y_real and y_syn share no class; pass synthetic windows labelled with the real "
            "classes they imitate."
        )
    return real, synthetic, y_real, y_syn, shared


def _window_stats(X):
    """RMS (pooled and per channel), mean within-window std and mean power spectrum (per
    channel) of a set of windows, summed in float64 a block of windows at a time."""
    n, n_channels, n_times = X.shape
    square_sum, std_sum, psd_sum = np.zeros(n_channels), 0.0, 0.0
    for rows in row_blocks(n, n_channels * n_times):
        block = np.asarray(X[rows], dtype=np.float64)
        square_sum += np.einsum("nct,nct->c", block, block)
        std_sum += float(np.std(block, axis=-1).sum())
        _, psd = scipy.signal.welch(block, nperseg=min(n_times, 64), axis=-1)
        psd_sum = psd_sum + psd.sum(axis=0)
    channel_power = square_sum / (n * n_times)
    return (
        float(np.sqrt(channel_power.mean())),
        np.sqrt(channel_power),
        std_sum / (n * n_channels),
        psd_sum / n,
    )


def _features_in_float64(extractor, X):
    """``extractor.transform`` of ``X`` computed in float64, a block of windows at a time
    (float32 windows in small units lose ``ent``; a whole float64 copy would double X)."""
    return np.concatenate(
        [
            extractor.transform(np.asarray(X[rows], dtype=np.float64))
            for rows in row_blocks(len(X), int(np.prod(X.shape[1:])))
        ]
    )


def _ratio(synthetic, real):
    """synthetic / real, elementwise; a silent real value gives inf against sound (the worst
    possible ratio, so ``worst`` shows it) and NaN against silence."""
    synthetic, real = np.asarray(synthetic, dtype=np.float64), np.asarray(real, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(real > 0, synthetic / np.where(real > 0, real, 1.0), np.inf)
    ratio = np.where((real > 0) | (synthetic > 0), ratio, np.nan)
    return float(ratio) if ratio.ndim == 0 else ratio


def _embed(encoder, X, name):
    """``encoder.transform(X)`` as float64, checked: one finite row per window."""
    emb = np.asarray(encoder.transform(X.astype(np.float32, copy=False)), dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(X):
        raise ValueError(
            f"encoder.transform returned shape {emb.shape} for {len(X)} {name} windows; it must "
            "return one embedding row per window, shape (n_windows, n_dims)."
        )
    if not np.isfinite(emb).all():
        raise ValueError(
            f"encoder.transform returned NaN or infinite embeddings for {name} windows that are "
            "finite; the encoder is broken (diverged training?). Refit or replace it."
        )
    return emb


def _farthest_from_one(ratios):
    """The ratio farthest from 1 in |log| (inf and 0 are the farthest); NaN if all are NaN."""
    ratios = np.asarray(ratios, dtype=np.float64)
    if np.isnan(ratios).all():
        return float("nan")
    with np.errstate(divide="ignore"):
        return float(ratios[np.nanargmax(np.abs(np.log(ratios)))])


def _db(psd, floor):
    return 10.0 * np.log10(np.maximum(psd, floor))


@_names_itself
def fidelity_report(real, synthetic, y_real, y_syn, *, encoder=None, k=5):
    """Per-class fidelity of synthetic windows against real ones.

    For each class present in both sets:

    - ``rms_ratio``: RMS of the synthetic windows over that of the real ones,
      pooled over all channels and samples (1 = same amplitude; inf when a silent
      real class gets windows with signal, NaN when both are silent; the same for
      the other ratios);
    - ``channel_rms_ratio``: the same ratio per channel, reported for the channel
      farthest from 1 (in ``|log|``). The pooled ratio hides a generator that
      swaps two channels' amplitudes, and the pattern over channels is what
      tells gestures apart;
    - ``std_ratio``: mean within-window standard deviation (over time, per window
      and channel, averaged over windows and channels), synthetic over real.
      Pooling differs from ``rms_ratio`` (energy against mean amplitude), so
      one channel too loud moves the two by different amounts. Below 1 means the synthetic windows are
      smoother than the real ones, as regression to the class mean makes them;
    - ``log_psd_distance``: root mean square difference, in dB, between the mean
      Welch power spectra of the two sets, over channels and frequencies (powers
      below 1e-10 of the larger of the two mean powers count as that floor, so a
      silent band costs 100 dB plus that band's level above the mean power).
      Welch's segments are detrended (their mean removed), so this compares the
      fluctuations, not the level: an offset shows in ``rms_ratio``, not here;
    - ``fid`` and ``coverage``: with ``encoder`` (anything with ``transform`` on
      windows, ideally an evaluation encoder that did not guide the generator),
      the Fréchet distance and the k-NN coverage (Naeem et al. 2020) of the two
      sets of embeddings. Coverage is the share of the real windows' k-NN balls
      that hold a synthetic window; it needs ``k + 1`` real windows of the class
      (and is NaN otherwise), and any number of synthetic ones, so a class
      collapsed onto a few synthetic windows scores low rather than NaN. It is an
      exact k-NN computation: time grows as real x (real + synthetic) windows per
      class (about 90 s for 100,000 windows of 12 classes on 2 cores), with memory bounded
      by scikit-learn's ``working_memory``; pass a random subset of the windows
      (both sets) to report on very large sets.

    Parameters
    ----------
    real : array-like of shape (n_real, n_channels, n_times)
        Real windows (the training windows the generator saw, or held-out ones).
    synthetic : array-like of shape (n_synthetic, n_channels, n_times)
        Synthetic windows.
    y_real, y_syn : array-like of shape (n_real,) / (n_synthetic,)
        Their labels.
    encoder : object with ``transform``, optional
        Embeds windows for ``fid`` and ``coverage``.
    k : int, default=5
        Neighbour rank of the coverage balls.

    Returns
    -------
    report : dict
        ``{"per_class": {class: {metric: value}}, "worst": {metric: value},
        "missing_classes": [...]}``. Each class also records ``n_real`` and
        ``n_synthetic``: FID and coverage depend on them, so the worst FID tends
        to be that of the smallest class; compare classes of similar sizes.
        ``worst`` holds the ratio farthest from 1 and the largest distances over
        the classes (a class whose value is NaN, e.g. a FID with fewer than 2
        windows, does not count). ``missing_classes`` lists real classes without
        a synthetic window (with a warning): they are not in ``per_class`` or
        ``worst``. Synthetic classes the real set lacks are compared with nothing
        and named in a warning.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 32)); y = np.repeat([0, 1], 20)
    >>> rep = fidelity_report(X, 0.5 * X, y, y)
    >>> round(rep["per_class"][0]["rms_ratio"], 3), round(rep["worst"]["std_ratio"], 3)
    (0.5, 0.5)
    """
    k = _check_k(k)
    real, synthetic, y_real, y_syn, shared = _check_labelled_windows(real, synthetic, y_real, y_syn)
    if encoder is not None and not callable(getattr(encoder, "transform", None)):
        raise TypeError(f"encoder must have a transform(X) method; got {encoder!r}.")
    emb_real = emb_syn = None
    if encoder is not None:
        emb_real = _embed(encoder, real, "real")
        emb_syn = _embed(encoder, synthetic, "synthetic")
    per_class = {}
    for c in shared:
        in_real, in_syn = y_real == c, y_syn == c
        rms_r, channel_rms_r, std_r, psd_r = _window_stats(real[in_real])
        rms_s, channel_rms_s, std_s, psd_s = _window_stats(synthetic[in_syn])
        # 100 dB below the louder set's mean power (a silent real class must not make the
        # floor vanish); two silent sets are at distance 0
        floor = 1e-10 * max(float(np.mean(psd_r)), float(np.mean(psd_s)), np.finfo(np.float64).tiny)
        row = {
            "n_real": int(in_real.sum()),
            "n_synthetic": int(in_syn.sum()),
            "rms_ratio": _ratio(rms_s, rms_r),
            "channel_rms_ratio": _farthest_from_one(_ratio(channel_rms_s, channel_rms_r)),
            "std_ratio": _ratio(std_s, std_r),
            "log_psd_distance": float(
                np.sqrt(np.mean(np.square(_db(psd_s, floor) - _db(psd_r, floor))))
            ),
        }
        if emb_real is not None:
            er, es = emb_real[in_real], emb_syn[in_syn]
            row["fid"] = frechet_distance(er, es) if min(len(er), len(es)) >= 2 else float("nan")
            enough = len(er) >= k + 1 and len(es) >= 1
            row["coverage"] = _coverage(er, es, k) if enough else float("nan")
        per_class[c.tolist()] = row
    missing = _warn_unshared_classes(
        y_real, y_syn, shared, "fidelity_report", "per_class and worst"
    )
    worst = {}
    for metric in (m for m in next(iter(per_class.values())) if not m.startswith("n_")):
        values = np.array([row[metric] for row in per_class.values()], dtype=np.float64)
        if np.isnan(values).all():
            worst[metric] = float("nan")
        elif metric.endswith("_ratio"):
            worst[metric] = _farthest_from_one(values)
        elif metric == "coverage":
            worst[metric] = float(np.nanmin(values))
        else:
            worst[metric] = float(np.nanmax(values))
    return {"per_class": per_class, "worst": worst, "missing_classes": missing}


def _warn_unshared_classes(y_real, y_syn, shared, who, left_out_of):
    """Warn about classes in one set only; return the real classes without synthetic windows."""
    shared_set = set(np.asarray(shared).tolist())
    extra = [c for c in np.unique(y_syn).tolist() if c not in shared_set]
    if extra:
        warnings.warn(
            f"{who}: the synthetic windows have classes {extra!r} that the real "
            "windows lack; they are compared with nothing. Pass real windows of those "
            "classes, or drop them.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    missing = [c for c in np.unique(y_real).tolist() if c not in shared_set]
    if missing:
        warnings.warn(
            f"{who}: the synthetic windows have no window of the real classes "
            f"{missing!r}; they are left out of {left_out_of}, and listed in "
            "the result's 'missing_classes'. A generator that drops a class fails it.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return missing


def _varies(sd, F):
    """Columns of ``F`` whose ``sd`` is not rounding, judged against each column's own
    magnitude: a variance in V^2 (~1e-12 at rest) is no more constant than one in mV^2."""
    return sd > 1e-12 * np.maximum(np.abs(F).max(axis=0), 1e-300)


@_names_itself
def feature_shift(
    real,
    synthetic,
    y_real,
    y_syn,
    *,
    features="hudgins",
    fs=None,
    threshold=0.0,
    ssc_convention="strict",
):
    """Standardised shift of each EMG feature of synthetic windows from real ones.

    Feature-based models (LDA on hudgins features, say) see synthetic windows only
    through their features, so a feature the generator gets wrong moves the class
    means and covariances such a model learns. For every class present in both sets
    and every column of :class:`~semgaug_sk.features.EMGFeatures` (one feature on
    one channel), the shift is

    .. math:: s = (\\bar f_{syn} - \\bar f_{real}) / \\sigma_{real},

    with :math:`\\sigma_{real}` the within-class standard deviation of the real
    windows (the standard deviation over all real windows where a class has none,
    e.g. a single window). Columns constant over all real windows (``zc`` on a
    rectified envelope) have no scale and are left out.

    Parameters
    ----------
    real, synthetic : array-like of shape (n, n_channels, n_times)
        Real and synthetic windows of the same channels and length.
    y_real, y_syn : array-like of shape (n_real,) / (n_synthetic,)
        Their labels.
    features : str or sequence, default="hudgins"
        The feature set, as for :class:`~semgaug_sk.features.EMGFeatures`.
    fs : float, optional
        Sampling rate, for the features that need it.
    threshold : float or dict, default=0.0
        Threshold of ``zc``, ``ssc`` and ``wamp``, as for
        :class:`~semgaug_sk.features.EMGFeatures`: pass your pipeline's, or the
        counts see noise crossings it does not.
    ssc_convention : {"strict", "reference"}, default="strict"
        As for :class:`~semgaug_sk.features.EMGFeatures`.

    Returns
    -------
    shift : dict
        ``{"per_feature": {name: mean signed shift}, "abs_per_feature": {name: mean
        |shift|}, "per_class": {class: mean |shift|}, "missing_classes": [...]}``,
        averaged over the channels and the classes present in both sets
        (``per_class``: over features and channels). A negative ``per_feature``
        value means the synthetic windows have less of that feature (``wl`` below 0:
        smoother than the real ones). ``missing_classes`` lists the real classes
        without a synthetic window (with a warning), which the averages leave out;
        synthetic classes the real set lacks are named in a warning.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2, 50)); y = np.repeat([0, 1], 30)
    >>> shift = feature_shift(X, 2 * X, y, y)
    >>> shift["per_feature"]["mav"] > 3, round(shift["per_feature"]["zc"], 6)
    (True, 0.0)
    """
    from .features import EMGFeatures  # features imports nothing from here; keep it lazy

    real, synthetic, y_real, y_syn, shared = _check_labelled_windows(real, synthetic, y_real, y_syn)
    missing = _warn_unshared_classes(
        y_real, y_syn, shared, "feature_shift", "per_feature, abs_per_feature and per_class"
    )
    extractor = EMGFeatures(
        features, fs=fs, threshold=threshold, ssc_convention=ssc_convention
    ).set_output(transform="default")  # arrays whatever sklearn's global transform_output
    # transform needs no fit, and fit would warn about the constant columns that are
    # expected here and left out below (the process-wide warning filters are not changed:
    # that is not thread-safe)
    F_real = _features_in_float64(extractor, real)
    F_syn = _features_in_float64(extractor, synthetic)
    feature_names = extractor._check_params()[0]
    names = np.array([str(n) for n in feature_names] * real.shape[1])  # channel-major
    overall_sd = F_real.std(axis=0)
    scaled = _varies(overall_sd, F_real)
    rows = []
    for c in shared:
        fr, fs_ = F_real[y_real == c], F_syn[y_syn == c]
        sd = fr.std(axis=0) if len(fr) > 1 else overall_sd
        sd = np.where(_varies(sd, fr), sd, overall_sd)
        with np.errstate(divide="ignore", invalid="ignore"):  # unscaled columns become NaN
            rows.append(np.where(scaled, (fs_.mean(axis=0) - fr.mean(axis=0)) / sd, np.nan))
    shifts = np.array(rows)  # (n_classes, n_columns)
    unique_names = [str(n) for n in dict.fromkeys(names)]
    return {
        "per_feature": {n: _mean_of_numbers(shifts[:, names == n]) for n in unique_names},
        "abs_per_feature": {
            n: _mean_of_numbers(np.abs(shifts[:, names == n])) for n in unique_names
        },
        "per_class": {
            c.tolist(): _mean_of_numbers(np.abs(row)) for c, row in zip(shared, rows, strict=True)
        },
        "missing_classes": missing,
    }


def _mean_of_numbers(values):
    """The mean of the non-NaN ``values``; NaN when there are none (a feature with no
    scaled column, by design), without numpy's empty-slice warning."""
    values = np.asarray(values, dtype=np.float64)
    numbers = values[~np.isnan(values)]
    return float(numbers.mean()) if numbers.size else float("nan")
