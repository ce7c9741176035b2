"""Condition sampling for SASG-DA: GMSS and SASS (pure functions).

Both work in the embedding space of the semantic encoder, one class at a time.

- **GMSS** (Gaussian-mixture semantic sampling): one multivariate Gaussian per
  class, with a shrinkage covariance (OAS or Ledoit-Wolf), so it stays positive
  definite even when a class has fewer windows than embedding dimensions.
- **SASS** (sparse-aware semantic sampling): oversample GMSS candidates, score
  their rarity with k-NN balls of the class's real embeddings (Han et al.
  2023, :func:`semgaug_sk.metrics.rarity_score`), keep the rarest in-support
  candidates, and move them by gradient steps on a sparsity potential (the
  log kernel density of the real embeddings) plus a diversity potential (the
  log kernel density of the other candidates) plus a quadratic anchor to its
  start, inside an ε-ball (:func:`sass_refine` gives the formulas).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.covariance import OAS, LedoitWolf
from sklearn.neighbors import NearestNeighbors

from ..metrics import _rarity_in_balls, _real_balls, rarity_score

__all__ = [
    "fit_class_gaussians",
    "gaussian_factors",
    "knn_radius",
    "sample_gmss",
    "sass_refine",
    "sass_sample",
    "select_rarest",
]


_COVARIANCES = {"oas": OAS, "ledoit_wolf": LedoitWolf}


def fit_class_gaussians(embeddings, labels, n_classes, covariance="oas", target="identity"):
    """One Gaussian per class with a shrinkage covariance.

    Shrinkage pulls the sample covariance towards a scaled identity, so the
    estimate stays well conditioned when a class has fewer samples than
    dimensions. ``"oas"`` (Oracle Approximating Shrinkage, Chen et al. 2010) is
    the default because it keeps shrinking with very few samples, where the
    Ledoit-Wolf estimate can collapse to no shrinkage at all (two samples give
    a rank-1 covariance). Any estimate that is still singular (e.g. duplicated
    embeddings) gets a tiny isotropic ridge (1e-6 of its mean variance).

    A class with a single sample, or only copies of one (variance below 1e-12
    of all embeddings'), has no spread of its own: it gets an isotropic
    covariance whose variance is the within-class variance pooled over the
    other classes (or, when there are none, the per-dimension variance of all
    embeddings).

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_dims)
    labels : ndarray of int of shape (n_samples,)
        Class codes in ``0 .. n_classes - 1``.
    n_classes : int
    covariance : {"oas", "ledoit_wolf"}, default="oas"
        Shrinkage estimator from :mod:`sklearn.covariance`.
    target : {"identity", "diagonal"}, default="identity"
        What the covariance shrinks towards. ``"identity"``: the estimator's own
        target, the mean variance times the identity, so with few windows every
        dimension's variance moves towards the average one (a dimension ten times
        quieter than the rest gets far more spread than the real embeddings
        show). ``"diagonal"``: the estimator runs on the class's embeddings
        divided by their per-dimension standard deviations and the result is
        scaled back, so each dimension keeps its own variance and only the
        correlations shrink; a dimension constant within the class stays
        constant.

    Returns
    -------
    means : ndarray of shape (n_classes, n_dims)
    covariances : ndarray of shape (n_classes, n_dims, n_dims)
    isotropic : list of int
        Codes of the classes that received the isotropic fallback.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> emb = rng.normal(size=(20, 3)); lab = np.repeat([0, 1], 10)
    >>> means, covs, iso = fit_class_gaussians(emb, lab, 2)
    >>> means.shape, covs.shape, iso
    ((2, 3), (2, 3, 3), [])
    """
    if covariance not in _COVARIANCES:
        raise ValueError(
            f"fit_class_gaussians: covariance must be one of {sorted(_COVARIANCES)}; "
            f"got {covariance!r}."
        )
    if target not in ("identity", "diagonal"):
        raise ValueError(
            f"fit_class_gaussians: target must be 'identity' or 'diagonal'; got {target!r}."
        )
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n_dims = embeddings.shape[1]
    means = np.zeros((n_classes, n_dims))
    covariances = np.zeros((n_classes, n_dims, n_dims))
    isotropic, within_var = [], []
    overall = float(embeddings.var(axis=0).mean())
    for c in range(n_classes):
        emb = embeddings[labels == c]
        if len(emb) == 0:
            raise ValueError(f"fit_class_gaussians: class code {c} has no embeddings.")
        means[c] = emb.mean(axis=0)
        # one window, or copies of one (duplicated windows): no spread to estimate
        if len(emb) < 2 or float(emb.var(axis=0).mean()) <= 1e-12 * overall:
            isotropic.append(c)
            continue
        if target == "diagonal":
            sd = emb.std(axis=0)
            varying = sd > 1e-12 * sd.max()  # the others are constant within the class
            # only the varying dimensions: zero columns would pull the estimator's target
            # (their mean variance) below 1 and shrink every variance with it
            standardized = (emb[:, varying] - means[c, varying]) / sd[varying]
            corr = np.zeros((n_dims, n_dims))
            corr[np.ix_(varying, varying)] = (
                _COVARIANCES[covariance]().fit(standardized).covariance_
            )
            sd = np.where(varying, sd, 0.0)
            cov = corr * np.outer(sd, sd)
        else:
            cov = _COVARIANCES[covariance]().fit(emb).covariance_
        scale = float(np.trace(cov)) / n_dims
        if np.linalg.eigvalsh(cov)[0] <= 1e-9 * max(scale, 1e-300):
            cov = cov + 1e-6 * (scale if scale > 0 else 1.0) * np.eye(n_dims)
        covariances[c] = cov
        within_var.append(emb.var(axis=0).mean())
    if isotropic:
        var = float(np.mean(within_var)) if within_var else float(embeddings.var(axis=0).mean())
        var = var if var > 0 else 1.0
        for c in isotropic:
            covariances[c] = var * np.eye(n_dims)
    return means, covariances, isotropic


def gaussian_factors(covariances):
    """Square-root factors ``L`` with ``L @ L.T == cov`` (symmetric eigen-decomposition).

    Works for singular (positive semi-definite) matrices, unlike Cholesky.

    Parameters
    ----------
    covariances : ndarray of shape (n_classes, n_dims, n_dims)

    Returns
    -------
    factors : ndarray of shape (n_classes, n_dims, n_dims)

    Examples
    --------
    >>> L = gaussian_factors(np.array([np.diag([4.0, 1.0])]))
    >>> np.allclose(L[0] @ L[0].T, np.diag([4.0, 1.0]))
    True
    """
    w, v = np.linalg.eigh(np.asarray(covariances, dtype=np.float64))
    return v * np.sqrt(np.clip(w, 0, None))[:, np.newaxis, :]


def sample_gmss(means, factors, class_codes, rng):
    """Draw one condition per requested class code from the class Gaussians.

    Parameters
    ----------
    means : ndarray of shape (n_classes, n_dims)
    factors : ndarray of shape (n_classes, n_dims, n_dims)
        From :func:`gaussian_factors`.
    class_codes : ndarray of int of shape (n,)
    rng : numpy.random.Generator

    Returns
    -------
    conditions : ndarray of shape (n, n_dims)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = sample_gmss(np.zeros((2, 3)), gaussian_factors(np.stack([np.eye(3)] * 2)),
    ...                 np.array([0, 1, 1]), rng)
    >>> z.shape
    (3, 3)
    """
    class_codes = np.asarray(class_codes)
    noise = rng.standard_normal((len(class_codes), means.shape[1]))
    out = np.empty_like(noise)
    for c in np.unique(class_codes):
        rows = class_codes == c
        out[rows] = means[c] + noise[rows] @ factors[c].T
    return out


def knn_radius(real, k):
    """Median distance of the real samples to their k-th nearest other real sample.

    The typical neighbourhood size of a class: SASS's kernel bandwidth and the
    unit of its ε-ball.

    Parameters
    ----------
    real : ndarray of shape (n_real, n_dims)
        At least ``k + 1`` rows.
    k : int

    Returns
    -------
    radius : float
        Positive: when the median is 0 (duplicated samples) it falls back to
        the root-mean-square distance between samples, then to 1.0.

    Examples
    --------
    >>> knn_radius(np.array([[0.0], [1.0], [3.0]]), k=1)
    1.0
    """
    dist, _ = NearestNeighbors(n_neighbors=k).fit(real).kneighbors()
    radius = float(np.median(dist[:, k - 1]))
    if radius > 0:
        return radius
    # Root-mean-square distance between two random samples: sqrt(2 * total variance).
    spread = float(np.sqrt(2.0 * np.asarray(real, dtype=np.float64).var(axis=0).sum()))
    return spread if spread > 0 else 1.0


def select_rarest(real, candidates, n_keep, k, balls=None):
    """Indices of the ``n_keep`` rarest candidates that lie in the real support.

    Candidates inside at least one real k-NN ball are ranked by decreasing
    rarity score (:func:`semgaug_sk.metrics.rarity_score`). If fewer than
    ``n_keep`` are in the support, the outside ones closest to a real sample
    fill the rest.

    Parameters
    ----------
    real : ndarray of shape (n_real, n_dims)
        Real embeddings of the class (at least ``k + 1``).
    candidates : ndarray of shape (n_candidates, n_dims)
    n_keep : int
        At most ``n_candidates``.
    k : int
    balls : tuple or None, default=None
        The real k-NN balls of ``real`` and ``k`` (``semgaug_sk.metrics._real_balls``),
        when a caller scores many candidate sets against one class; None computes them.

    Returns
    -------
    index : ndarray of int of shape (n_keep,)
    scores : ndarray of shape (n_candidates,)
        Rarity of every candidate (NaN outside the support).

    Examples
    --------
    >>> real = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> select_rarest(real, np.array([[0.2], [6.0], [30.0]]), 2, k=1)[0].tolist()
    [1, 0]
    """
    if balls is None:
        scores, outside = rarity_score(real, candidates, k=k, return_outside=True)
    else:
        scores, outside = _rarity_in_balls(balls, np.asarray(candidates, dtype=np.float64))
    inside = np.flatnonzero(~outside)
    ranked = inside[np.argsort(-scores[inside], kind="stable")]
    if len(ranked) < n_keep:
        out_idx = np.flatnonzero(outside)
        gap, _ = NearestNeighbors(n_neighbors=1).fit(real).kneighbors(candidates[out_idx])
        ranked = np.concatenate([ranked, out_idx[np.argsort(gap[:, 0], kind="stable")]])
    return ranked[:n_keep], scores


def sass_refine(starts, real, *, bandwidth, epsilon, n_steps=20, diversity=1.0):
    r"""Move conditions towards sparse, mutually distant places near their starts.

    The candidates :math:`Z = (z_1, \dots, z_n)` (starts :math:`z_i^0`) jointly descend
    the potential

    .. math::

        U(Z) = \sum_i \Big[ \log \hat p(z_i) + \lambda \log \hat q_i(z_i)
                 + \frac{\lVert z_i - z_i^0 \rVert^2}{2 \sigma^2} \Big],
        \qquad \sigma = \varepsilon / 2,

    where :math:`\hat p(z) = \frac{1}{n} \sum_j \exp(-\lVert z - r_j \rVert^2 / 2h^2)` is
    a Gaussian kernel density of the class's real embeddings :math:`r_j` (the
    **sparsity** potential: low where real data are sparse), :math:`\hat q_i(z) =
    \sum_{j \ne i} \exp(-\lVert z - z_j \rVert^2 / 2h^2)` the same kernel over the
    *other* candidates (the **diversity** potential, weight :math:`\lambda` =
    ``diversity``: candidates repel each other), and the last term a quadratic
    **anchor** that keeps each candidate near its start, in the region whose rarity the
    selection measured; the ε-ball is its two-sigma trust region. With :math:`m(z)` the
    kernel-weighted mean of the real embeddings around :math:`z`, and :math:`w_{ij}` the
    weight of :math:`z_j` in :math:`\hat q_i(z_i)` (a softmax over :math:`j \ne i`), the
    gradient with respect to :math:`z_i` is

    .. math::

        \frac{\partial U}{\partial z_i} = \frac{m(z_i) - z_i}{h^2}
            + \frac{\lambda}{h^2} \sum_{j \ne i} (w_{ij} + w_{ji}) (z_j - z_i)
            + \frac{z_i - z_i^0}{\sigma^2}.

    A pair's repulsion enters both :math:`\hat q_i(z_i)` and :math:`\hat q_j(z_j)`, so it
    is felt from both ends (the weights :math:`w_{ij} + w_{ji}`): for well-spread
    candidates about twice the mean shift :math:`(m_i(z_i) - z_i) / h^2` towards the
    kernel-weighted mean :math:`m_i` of the other candidates alone. Each of the
    ``n_steps`` steps is :math:`z_i \leftarrow z_i - \tfrac{1}{2} \sigma^2 \partial U /
    \partial z_i` for every candidate at once, followed by a projection onto the ball of
    radius :math:`\varepsilon` around :math:`z_i^0`. The step halves the anchor's pull at every
    step, so the descent is stable while the anchor dominates, and it is scale-free (the
    sparsity step is :math:`\tfrac{\sigma^2}{2h^2}` of the distance to the local mean).
    Near the minimum a candidate has moved about :math:`(\sigma / h)^2` of its distance
    to the local means, away from them: further where real data thin out, and further
    the larger ``diversity``. Fewer steps stop short of it; a ``diversity`` large enough
    to outweigh the anchor pushes candidates to the edge of the ball.

    Parameters
    ----------
    starts : ndarray of shape (n, n_dims)
        Starting conditions.
    real : ndarray of shape (n_real, n_dims)
        Real embeddings of the class.
    bandwidth : float
        Kernel width :math:`h` (SASS uses the class's typical k-NN radius).
    epsilon : float
        Trust-region radius :math:`\varepsilon` (absolute units); the anchor's scale
        is :math:`\varepsilon / 2`.
    n_steps : int, default=20
        Gradient steps; 0 returns the starts.
    diversity : float, default=1.0
        Weight :math:`\lambda` of the diversity potential (0 switches it off).

    Returns
    -------
    conditions : ndarray of shape (n, n_dims)

    Examples
    --------
    >>> real = np.random.default_rng(0).normal(size=(50, 2))
    >>> moved = sass_refine(np.full((3, 2), 0.5), real, bandwidth=0.5, epsilon=0.3)
    >>> shift = np.linalg.norm(moved - 0.5, axis=1)
    >>> bool(np.all(shift <= 0.3 + 1e-9) and np.all(shift > 0))
    True
    """
    if n_steps == 0 or epsilon <= 0 or len(starts) == 0:
        return np.array(starts, dtype=np.float64, copy=True)
    z0 = torch.as_tensor(np.asarray(starts), dtype=torch.float64)
    ref = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    inv_two_h2 = 1.0 / (2.0 * bandwidth**2)
    sigma2 = (0.5 * epsilon) ** 2
    step = 0.5 * sigma2
    n = len(z0)
    z = z0.clone()
    ref_t, ref_sq = ref.T.contiguous(), ref.square().sum(dim=1)
    for _ in range(n_steps):
        # the gradient above in closed form (no autograd graph: twice as fast), in place
        # where it is exact. A softmax over j ignores terms constant in j, so the kernel
        # logits -|z_i - r_j|^2 / 2h^2 drop |z_i|^2 and take one matrix product.
        logits = torch.addmm(ref_sq, z, ref_t, beta=-inv_two_h2, alpha=2.0 * inv_two_h2)
        weights = torch.softmax(logits, dim=1)
        del logits
        grad = weights @ ref - z  # h^2 times the sparsity term: m(z_i) - z_i
        if diversity > 0 and n > 1:
            z_sq = z.square().sum(dim=1)
            logits = torch.addmm(z_sq, z, z.T, beta=-inv_two_h2, alpha=2.0 * inv_two_h2)
            logits.diagonal().fill_(float("-inf"))
            pair = torch.softmax(logits, dim=1)
            del logits
            # w_ij + w_ji: a pair's repulsion is felt from both ends; the rows of w sum to 1
            pull = pair @ z + pair.T @ z - (1.0 + pair.sum(dim=0)).unsqueeze(1) * z
            grad += diversity * pull
        grad *= 2.0 * inv_two_h2  # 1 / h^2
        z = z - step * (grad + (z - z0) / sigma2)
        delta = z - z0
        norm = delta.norm(dim=1, keepdim=True).clamp(min=1e-12)
        z = z0 + delta * torch.clamp(epsilon / norm, max=1.0)
    return z.numpy()


def sass_sample(
    real,
    mean,
    factor,
    n,
    rng,
    *,
    k=5,
    oversample=4.0,
    epsilon=0.5,
    n_steps=20,
    diversity=1.0,
    block_size=None,
    radius=None,
    balls=None,
):
    """SASS conditions for one class: oversample, keep the rarest, refine.

    Parameters
    ----------
    real : ndarray of shape (n_real, n_dims)
        Real embeddings of the class; at least ``k + 1`` rows (the caller
        reduces ``k`` for small classes).
    mean : ndarray of shape (n_dims,)
        GMSS mean of the class.
    factor : ndarray of shape (n_dims, n_dims)
        GMSS covariance factor of the class.
    n : int
        Number of conditions wanted.
    rng : numpy.random.Generator
    k : int, default=5
        Neighbour rank of the rarity balls and of the class's typical radius.
    oversample : float, default=4.0
        Candidates drawn per condition kept (at least 1).
    epsilon : float, default=0.5
        ε-ball radius in units of the class's typical k-NN radius.
    n_steps : int, default=20
        Gradient steps of :func:`sass_refine`.
    diversity : float, default=1.0
        Weight of the diversity potential.
    block_size : int or None, default=None
        Work on blocks of at most ``block_size`` conditions: each block draws
        its own ``oversample`` x candidates, keeps its rarest and refines them,
        with the diversity potential acting within the block. The pairwise
        terms of the refinement then cost ``block_size**2`` memory instead of
        ``n**2`` (the kept fraction, hence the rarity threshold, is the same
        in every block). None treats all ``n`` as one block.
    radius : float or None, default=None
        The class's typical k-NN radius (:func:`knn_radius` of ``real`` and ``k``), the
        unit of ``epsilon`` and the kernel width; None computes it. A caller drawing
        many blocks of one class passes it once computed.
    balls : tuple or None, default=None
        The real k-NN balls that rank the candidates' rarity
        (``semgaug_sk.metrics._real_balls`` of ``real`` and ``k``); None computes
        them, once for all the blocks of the call. Like ``radius``, a caller
        drawing many calls for one class passes them once computed: their
        neighbour search is quadratic in the class's real windows.

    Returns
    -------
    conditions : ndarray of shape (n, n_dims)
        In the order their candidates were drawn (not rarest first), so that any
        prefix is a fair subset.
    starts : ndarray of shape (n, n_dims)
        The selected GMSS candidates before refinement.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(30, 2))
    >>> cond, start = sass_sample(real, real.mean(0), np.eye(2), 5, rng, k=3)
    >>> cond.shape
    (5, 2)
    """
    if n == 0:
        empty = np.empty((0, len(mean)))
        return empty, empty
    if radius is None:
        radius = knn_radius(real, k)
    if balls is None:
        balls = _real_balls(np.asarray(real, dtype=np.float64), k)
    if block_size is not None and n > block_size:
        blocks = [
            sass_sample(
                real,
                mean,
                factor,
                min(block_size, n - start),
                rng,
                k=k,
                oversample=oversample,
                epsilon=epsilon,
                n_steps=n_steps,
                diversity=diversity,
                radius=radius,
                balls=balls,
            )
            for start in range(0, n, block_size)
        ]
        return tuple(np.concatenate(part) for part in zip(*blocks, strict=True))
    n_candidates = max(n, int(math.ceil(n * oversample)))
    codes = np.zeros(n_candidates, dtype=int)
    candidates = sample_gmss(mean[np.newaxis], factor[np.newaxis], codes, rng)
    keep, _ = select_rarest(real, candidates, n, k, balls=balls)
    # in the order drawn (i.i.d.), not rarest first: a caller that keeps a prefix of
    # the passing conditions (the confidence filter's top-up rounds) keeps a fair subset
    starts = candidates[np.sort(keep)]
    conditions = sass_refine(
        starts,
        real,
        bandwidth=radius,
        epsilon=epsilon * radius,
        n_steps=n_steps,
        diversity=diversity,
    )
    return conditions, starts
