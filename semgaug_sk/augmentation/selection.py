"""Choose synthetic windows whose class means match the real ones (kernel herding).

A generator's windows can be faithful one by one and still sit, as a class, away
from the real class: on NinaPro DB1 the mean Hudgins-feature vector of SASS's
windows lay 3.4 Mahalanobis units from the real class mean, and shifting the real
windows by that offset alone cost LDA 5 points (``benchmarks/ablate_lda.py``).
:func:`herd_class_means` draws ``n`` of a larger pool of candidates per class so
that the mean of the chosen ones in a feature space follows the real class mean,
by kernel herding with a linear kernel (Chen, Welling and Smola, UAI 2010): in
features whitened by the real windows' pooled within-class covariance
(Ledoit-Wolf, on features standardised by their within-class sd), step ``t`` of
class ``c`` picks the unused candidate

    ``argmin_i || (S_t + z_i) / (t + 1) - mu_c ||``,

where ``S_t`` is the sum of the ``t`` candidates already chosen and ``mu_c`` the
real class mean. A target inside the candidates' spread is matched to
``O(1 / n)``; one outside it is approached as closely as the pool allows, by the
candidates that lie furthest towards it.
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf

__all__ = ["herd_class_means"]


def _whitener(features, labels):
    """``(keep, transform)``: the features that vary, and the matrix that whitens them by
    the pooled within-class covariance of ``features``.

    The covariance is Ledoit-Wolf's of the features standardised by their pooled
    within-class sd (so the shrinkage is towards the correlation's diagonal, and a
    feature's unit does not matter).
    """
    keep = features.std(axis=0) > 0
    kept = features[:, keep]
    centred = np.concatenate(
        [kept[labels == c] - kept[labels == c].mean(axis=0) for c in np.unique(labels)]
    )
    sd = centred.std(axis=0)
    sd = np.where(sd > 0, sd, features[:, keep].std(axis=0))  # constant within every class
    precision = LedoitWolf().fit(centred / sd).precision_
    return keep, np.linalg.cholesky(precision) / sd[:, None]


def _with_second_moments(Z, R, mean):
    """Candidates and target with the scaled second moments about ``mean`` appended."""
    scale = 1.0 / np.sqrt(Z.shape[1])

    def moments(A):
        d = A - mean
        return (d[:, :, None] * d[:, None, :]).reshape(len(A), -1) * scale

    return np.hstack([Z, moments(Z)]), np.concatenate([mean, moments(R).mean(axis=0)])


def herd_class_means(
    candidates, candidate_labels, reference, reference_labels, n_per_class, *, match="mean"
):
    """Indices of candidates whose class means follow the reference's, by kernel herding.

    Parameters
    ----------
    candidates : array-like of shape (n_candidates, n_features)
        Features of the synthetic candidates.
    candidate_labels : array-like of shape (n_candidates,)
    reference : array-like of shape (n_reference, n_features)
        Features of the real windows: their class means are the targets, and their
        pooled within-class covariance (Ledoit-Wolf) whitens the space.
    reference_labels : array-like of shape (n_reference,)
    n_per_class : dict
        ``{class: candidates to choose}``; each class needs that many candidates and at
        least one reference window.
    match : {"mean", "covariance"}, default="mean"
        ``"covariance"`` also herds each class's second moments about its reference
        mean towards the reference's, i.e. the kernel's feature map is
        ``[z, vec((z - mu_c)(z - mu_c)^T) / sqrt(d)]`` in the ``d`` whitened features
        (the ``1 / sqrt(d)`` puts both parts on the same scale), so the chosen windows
        also vary like the real class.

    Returns
    -------
    indices : ndarray of shape (sum(n_per_class.values()),)
        Rows of ``candidates``, grouped by class in the order of ``n_per_class``, each
        class's in the order herding chose them.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(50, 2))
    >>> pool = rng.normal(loc=0.5, size=(200, 2))
    >>> chosen = herd_class_means(pool, np.zeros(200), real, np.zeros(50), {0: 50})
    >>> bool(np.abs(pool[chosen].mean(0) - real.mean(0)).max() < 0.05)
    True
    """
    candidates = np.asarray(candidates, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    candidate_labels, reference_labels = np.asarray(candidate_labels), np.asarray(reference_labels)
    for name, F, labels in (
        ("candidates", candidates, candidate_labels),
        ("reference", reference, reference_labels),
    ):
        if F.ndim != 2 or labels.shape != (len(F),):
            raise ValueError(
                f"herd_class_means: {name} must be 2-D (windows, features) with one label "
                f"per row; got shape {F.shape} and {labels.shape[0] if labels.ndim else 0} labels."
            )
        if not np.isfinite(F).all():
            raise ValueError(
                f"herd_class_means: {name} contain NaN or inf; compute the features of "
                "finite windows."
            )
    if match not in ("mean", "covariance"):
        raise ValueError(f"herd_class_means: match must be 'mean' or 'covariance'; got {match!r}.")
    if candidates.shape[1] != reference.shape[1]:
        raise ValueError(
            f"herd_class_means: candidates have {candidates.shape[1]} features and the "
            f"reference {reference.shape[1]}; compute both with the same feature extractor."
        )
    for c, n in n_per_class.items():
        have, real = int(np.sum(candidate_labels == c)), int(np.sum(reference_labels == c))
        if n > have or (n > 0 and real == 0):
            raise ValueError(
                f"herd_class_means: class {c!r} asks for {n} candidates, but the pool holds "
                f"{have} and the reference {real} windows of it; draw a larger pool, or "
                "ask only for classes of the reference."
            )
    keep, whiten = _whitener(reference, reference_labels)
    chosen = []
    for c, n in n_per_class.items():
        rows = np.flatnonzero(candidate_labels == c)
        Z = candidates[rows][:, keep] @ whiten
        R = reference[reference_labels == c][:, keep] @ whiten
        target = R.mean(axis=0)
        if match == "covariance":
            Z, target = _with_second_moments(Z, R, target)
        free = np.ones(len(rows), dtype=bool)
        total = np.zeros_like(target)
        picks = np.empty(n, dtype=np.int64)
        for t in range(n):
            # the candidate nearest to what the running sum lacks: (t + 1) mu - S_t
            distance = np.sum((Z - ((t + 1) * target - total)) ** 2, axis=1)
            distance[~free] = np.inf
            best = int(np.argmin(distance))
            picks[t], free[best] = best, False
            total += Z[best]
        chosen.append(rows[picks])
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
