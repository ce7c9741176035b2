"""Choose synthetic windows whose class statistics follow the real ones (greedy matching).

A generator's windows can be plausible one by one and still sit, as a class, away
from the real class in a feature space. :func:`match_class_means` keeps ``n`` of a
larger pool of candidates per class so that the chosen ones' mean (and optionally
their spread) in a feature space follows the real class's. It minimises, greedily,
the maximum mean discrepancy with a linear (or a linear plus quadratic) kernel
between the chosen candidates and the real class, in features whitened by the real
windows' pooled within-class covariance: step ``t`` of class ``c`` picks the unused
candidate

    ``argmin_i || (S_t + phi(z_i)) / (t + 1) - mean_c(phi) ||``,

where ``S_t`` sums the ``t`` feature maps already chosen. This is the greedy form of
kernel mean matching; kernel herding (Chen, Welling and Smola, UAI 2010) maximises
the same objective's linear part without the ``||phi(z_i)||^2`` term. Because every
candidate is used at most once, a target near the edge of the pool is not reached
exactly: the chosen mean moves only as far as the pool's windows on that side allow.

``benchmarks/ablate_mean_matching.py`` measured it on the SASS pool of NinaPro DB1
and the Myo armband (``results/time_split/ablate_mean_matching``); the sampler does
not use it.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.covariance import LedoitWolf

__all__ = ["match_class_means", "within_class_whitener"]

MATCHES = ("mean", "covariance")


def within_class_whitener(features, labels):
    """The features that vary within classes, and the matrix that whitens them.

    The whitening is by the pooled within-class covariance of ``features``: Ledoit-Wolf's
    on the features standardised by their pooled within-class sd (so the shrinkage is
    towards the correlation's diagonal, and a feature's unit does not matter). A feature
    constant within every class has no within-class scale to whiten by and is left out.
    Distances between ``features[:, keep] @ transform`` rows are Mahalanobis distances
    under that covariance.

    Parameters
    ----------
    features : ndarray of shape (n_windows, n_features)
    labels : ndarray of shape (n_windows,)

    Returns
    -------
    keep : ndarray of bool of shape (n_features,)
    transform : ndarray of shape (keep.sum(), keep.sum())

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> F, y = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.0], np.repeat([0, 1], 20)
    >>> keep, transform = within_class_whitener(F, y)
    >>> keep.tolist(), transform.shape
    ([True, True, False], (2, 2))
    """
    centred = np.concatenate(
        [features[labels == c] - features[labels == c].mean(axis=0) for c in np.unique(labels)]
    )
    sd = centred.std(axis=0)
    # per feature, against its own magnitude: features in other units (a count of ~40
    # next to a variance in V^2 of ~1e-10) must not judge each other constant
    keep = sd > 1e-12 * np.maximum(np.abs(features).max(axis=0), 1e-300)
    if not keep.any():
        raise ValueError(
            "match_class_means: no feature varies within any class of the reference; it needs "
            "a class with at least two different reference windows."
        )
    precision = LedoitWolf().fit(centred[:, keep] / sd[keep]).precision_
    return keep, np.linalg.cholesky(precision) / sd[keep][:, None]


def _check_features(name, F, labels):
    F, labels = np.asarray(F, dtype=np.float64), np.asarray(labels)
    if F.ndim != 2:
        raise ValueError(
            f"match_class_means: {name} must be 2-D (windows, features); got shape {F.shape}."
        )
    if labels.shape != (len(F),):
        raise ValueError(
            f"match_class_means: {name} need one label per row, as a 1-D array of length "
            f"{len(F)}; got labels of shape {labels.shape}."
        )
    if not np.isfinite(F).all():
        raise ValueError(
            f"match_class_means: {name} contain NaN or inf; compute the features of finite windows."
        )
    return F, labels


def _check_counts(n_per_class, candidate_labels, reference_labels):
    if not isinstance(n_per_class, dict):
        raise TypeError(
            "match_class_means: n_per_class must be a dict {class: candidates to choose}; "
            f"got {type(n_per_class).__name__}."
        )
    counts = {}
    for c, n in n_per_class.items():
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(
                f"match_class_means: n_per_class[{c!r}] must be a non-negative int; got {n!r}."
            )
        have, real = int(np.sum(candidate_labels == c)), int(np.sum(reference_labels == c))
        if n > have or (n > 0 and real == 0):
            raise ValueError(
                f"match_class_means: class {c!r} asks for {n} candidates, but the pool holds "
                f"{have} and the reference {real} windows of it; draw a larger pool, or "
                "ask only for classes of the reference."
            )
        counts[c] = int(n)
    return counts


def _greedy(Z, target, n):
    """Rows of ``Z`` (n of them) whose running mean follows ``target``, greedily."""
    free = np.ones(len(Z), dtype=bool)
    total = np.zeros_like(target)
    picks = np.empty(n, dtype=np.int64)
    for t in range(n):
        # the nearest candidate to what the running sum lacks: (t + 1) target - S_t
        distance = np.sum((Z - ((t + 1) * target - total)) ** 2, axis=1)
        distance[~free] = np.inf
        picks[t] = best = int(np.argmin(distance))
        free[best] = False
        total += Z[best]
    return picks


def _greedy_with_moments(Z, target_mean, target_cov, n):
    """As :func:`_greedy` on ``[z, vec((z - m)(z - m)^T) / sqrt(d)]`` with ``m`` the target
    mean, without building the ``d**2`` map: the moment part of the distance is
    ``|d_i|^4 / d - 2 d_i^T M d_i / sqrt(d) + |M|_F^2`` for the lacking sum ``M``."""
    d = Z.shape[1]
    D = Z - target_mean
    fourth = np.sum(D**2, axis=1) ** 2 / d
    target_moment = target_cov / np.sqrt(d)
    free = np.ones(len(Z), dtype=bool)
    total, total_moment = np.zeros(d), np.zeros((d, d))
    picks = np.empty(n, dtype=np.int64)
    for t in range(n):
        lack = (t + 1) * target_mean - total
        lack_moment = (t + 1) * target_moment - total_moment
        distance = np.sum((Z - lack) ** 2, axis=1)
        distance += fourth - 2 * np.einsum("ij,jk,ik->i", D, lack_moment, D) / np.sqrt(d)
        distance[~free] = np.inf
        picks[t] = best = int(np.argmin(distance))
        free[best] = False
        total += Z[best]
        total_moment += np.outer(D[best], D[best]) / np.sqrt(d)
    return picks


def match_class_means(
    candidates, candidate_labels, reference, reference_labels, n_per_class, *, match="mean"
):
    """Indices of candidates whose class means (and spread) follow the reference's.

    Parameters
    ----------
    candidates : array-like of shape (n_candidates, n_features)
        Features of the synthetic candidates.
    candidate_labels : array-like of shape (n_candidates,)
        The class of each candidate.
    reference : array-like of shape (n_reference, n_features)
        Features of the real windows: their class means are the targets, and their
        pooled within-class covariance (Ledoit-Wolf, on features standardised by their
        within-class sd) whitens the space. Features constant within every class are
        left out.
    reference_labels : array-like of shape (n_reference,)
        The class of each real window.
    n_per_class : dict
        ``{class: candidates to choose}``; each class asked for a positive number needs
        that many candidates and at least one reference window.
    match : {"mean", "covariance"}, default="mean"
        ``"covariance"`` also matches each class's second moments about its reference
        mean to the reference class's covariance (Ledoit-Wolf shrunk, so towards the
        pooled one, which a class with one reference window gets), i.e. the feature map
        is ``[z, vec((z - m_c)(z - m_c)^T) / sqrt(d)]`` in the ``d`` whitened features.
        ``"mean"`` alone favours candidates near the target, so its choice varies less
        than the pool.

    Returns
    -------
    indices : ndarray of shape (sum(n_per_class.values()),)
        Rows of ``candidates``, grouped by class in the order of ``n_per_class``, each
        class's in the order they were chosen.

    Notes
    -----
    Each class costs ``n`` steps over its candidates: ``O(n * n_candidates * d)``, and
    ``O(n * n_candidates * d**2)`` with ``"covariance"``; memory stays
    ``O(n_candidates * d + d**2)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(50, 2))
    >>> pool = rng.normal(loc=0.5, size=(200, 2))
    >>> chosen = match_class_means(pool, np.zeros(200), real, np.zeros(50), {0: 50})
    >>> bool(np.abs(pool[chosen].mean(0) - real.mean(0)).max() < 0.05)
    True
    """
    if match not in MATCHES:
        raise ValueError(f"match_class_means: match must be 'mean' or 'covariance'; got {match!r}.")
    candidates, candidate_labels = _check_features("candidates", candidates, candidate_labels)
    reference, reference_labels = _check_features("reference", reference, reference_labels)
    if candidates.shape[1] != reference.shape[1]:
        raise ValueError(
            f"match_class_means: candidates have {candidates.shape[1]} features and the "
            f"reference {reference.shape[1]}; compute both with the same feature extractor."
        )
    counts = _check_counts(n_per_class, candidate_labels, reference_labels)
    chosen = [np.empty(0, dtype=np.int64)]
    if not any(counts.values()):
        return chosen[0]
    keep, whiten = within_class_whitener(reference, reference_labels)
    for c, n in counts.items():
        if n == 0:
            continue
        rows = np.flatnonzero(candidate_labels == c)
        Z = candidates[rows][:, keep] @ whiten
        R = reference[reference_labels == c][:, keep] @ whiten
        if match == "mean":
            picks = _greedy(Z, R.mean(axis=0), n)
        else:
            cov = LedoitWolf().fit(R).covariance_ if len(R) > 1 else np.eye(R.shape[1])
            picks = _greedy_with_moments(Z, R.mean(axis=0), cov, n)
        chosen.append(rows[picks])
    return np.concatenate(chosen)
