"""Condition samplers of SASG-DA: GMSS and SASS as small estimators.

Each is fitted on the embeddings of the real windows and their labels, then
draws new conditions in the same embedding space with :meth:`GMSS.sample`
(``{class: n}`` and a numpy Generator). The numerics are the pure functions of
:mod:`semgaug_sk.augmentation.conditions`.
"""

from __future__ import annotations

import numbers
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..metrics import _real_balls
from ..utils.validation import (
    RefuseBoolNumbersMixin,
    caller_stacklevel,
    check_labels,
    check_optional_positive_int,
)
from . import conditions

__all__ = ["GMSS", "SASS"]


class GMSS(RefuseBoolNumbersMixin, BaseEstimator):
    """Gaussian semantic sampling: one multivariate Gaussian per class.

    ``fit(embeddings, y)`` estimates each class's mean and shrinkage covariance
    (:func:`~semgaug_sk.augmentation.conditions.fit_class_gaussians`); a class
    of one window gets an isotropic covariance with the pooled within-class
    variance, with a warning. :meth:`sample` draws from the class Gaussians.

    Parameters
    ----------
    covariance : {"oas", "ledoit_wolf"}, default="oas"
        Shrinkage estimator of :mod:`sklearn.covariance`: OAS keeps shrinking
        with very few windows per class, where Ledoit-Wolf can become singular.
    shrinkage_target : {"identity", "diagonal"}, default="identity"
        What each class covariance shrinks towards
        (:func:`~semgaug_sk.augmentation.conditions.fit_class_gaussians`):
        the mean variance times the identity, which gives the quieter
        dimensions of an embedding more spread than the real windows show, or
        the class's own per-dimension variances, which keeps them and shrinks
        only the correlations. With the default ``SemanticEncoder`` the choice
        made no difference downstream (``benchmarks/ablate_shrinkage.py``, DB1
        and Myo, inner split); "diagonal" is for embeddings whose dimensions
        differ widely in scale.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Classes seen at fit, sorted.
    means_ : ndarray of shape (n_classes, n_dims)
        Class means.
    covariances_ : ndarray of shape (n_classes, n_dims, n_dims)
        Class shrinkage covariances.
    factors_ : ndarray of shape (n_classes, n_dims, n_dims)
        Square roots ``L`` with ``L @ L.T == covariances_[c]``.
    counts_ : ndarray of shape (n_classes,)
        Windows per class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> gmss = GMSS().fit(rng.normal(size=(20, 3)), np.repeat(["a", "b"], 10))
    >>> z, labels = gmss.sample({"b": 2}, rng)
    >>> z.shape, labels.tolist()
    ((2, 3), ['b', 'b'])
    """

    _parameter_constraints: dict = {
        "covariance": [StrOptions({"oas", "ledoit_wolf"})],
        "shrinkage_target": [StrOptions({"identity", "diagonal"})],
    }

    def __init__(self, covariance="oas", shrinkage_target="identity"):
        self.covariance = covariance
        self.shrinkage_target = shrinkage_target

    def __setstate__(self, state):
        # pickled before shrinkage_target existed: what those samplers did
        super().__setstate__({"shrinkage_target": "identity", **state})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # one Gaussian per class
        return tags

    def fit(self, embeddings, y):
        """Fit the class Gaussians.

        Parameters
        ----------
        embeddings : array-like of shape (n_windows, n_dims)
        y : array-like of shape (n_windows,)
            Labels of any hashable type.

        Returns
        -------
        self : object
        """
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.fit: y is required (one class per embedding): the "
                "sampler fits one Gaussian per class. Pass fit(embeddings, y)."
            )
        emb = np.asarray(embeddings, dtype=np.float64)
        y = np.asarray(y)
        if emb.ndim != 2 or y.shape != (len(emb),):
            raise ValueError(
                f"{type(self).__name__}: embeddings must be (n_windows, n_dims) and y "
                f"(n_windows,); got {emb.shape} and {y.shape}."
            )
        if emb.shape[1] == 0:
            raise ValueError(
                f"{type(self).__name__}: embeddings have 0 dimensions (shape {emb.shape}); "
                "the encoder must give at least one (check its embedding_dim or output)."
            )
        if len(emb) == 0 or not np.isfinite(emb).all():
            raise ValueError(
                f"{type(self).__name__}: embeddings must be at least one row of finite numbers; "
                f"got {len(emb)} row(s){'' if len(emb) == 0 else ' with NaN or inf'}."
            )
        y = check_labels(y, len(emb), who=f"{type(self).__name__}: ")
        self.classes_, codes = np.unique(y, return_inverse=True)
        codes = codes.ravel()
        means, covs, isotropic = conditions.fit_class_gaussians(
            emb,
            codes,
            len(self.classes_),
            covariance=self.covariance,
            target=self.shrinkage_target,
        )
        if isotropic:
            warnings.warn(
                f"{type(self).__name__}: classes {self.classes_[isotropic].tolist()!r} have a "
                "single window (or copies of one); their Gaussian covariance is isotropic with "
                "the within-class variance pooled over the other classes (the variance of all "
                "windows when no class has two).",
                UserWarning,
                stacklevel=2,
            )
        self.means_, self.covariances_ = means, covs
        self.factors_ = conditions.gaussian_factors(covs)
        self.counts_ = np.bincount(codes, minlength=len(self.classes_))
        return self

    def _n_per_code(self, n_per_class):
        """``{class: n}`` or an int as an OrderedDict ``{code: n}`` in class order."""
        check_is_fitted(self, "means_")
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        if isinstance(n_per_class, Mapping):
            unknown = [c for c in n_per_class if c not in index]
            if unknown:
                raise ValueError(
                    f"{type(self).__name__}: classes {unknown!r} were not seen at fit; choose "
                    f"among {self.classes_.tolist()!r}."
                )
            items = [(index[c], n) for c, n in n_per_class.items()]
        else:
            items = [(i, n_per_class) for i in range(len(self.classes_))]
        for code, n in items:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
                raise ValueError(
                    f"{type(self).__name__}: the count for class "
                    f"{self.classes_.tolist()[code]!r} must be a non-negative integer; got {n!r}."
                )
        return OrderedDict(sorted((code, int(n)) for code, n in items))

    def sample(self, n_per_class, random_state=None, *, block_size=None, warn=True):
        """Draw new conditions per class.

        Parameters
        ----------
        n_per_class : int or dict
            Conditions per class: one int for every class, or ``{class: n}``.
        random_state : None, int or numpy.random.Generator, default=None
            A Generator is advanced in place.
        block_size : int or None, default=None
            SASS selects and refines blocks of at most this many conditions:
            its diversity potential acts within a block, and memory grows with
            ``block_size**2`` plus ``block_size`` times the class's real
            windows (the sparsity kernel reaches every one), not ``n**2``.
            None: one block per class. GMSS draws independently and ignores it.
        warn : bool, default=True
            SASS warns about classes too small for ``k``.

        Returns
        -------
        conditions : ndarray of shape (n, n_dims)
            Grouped by class in ``classes_`` order.
        labels : ndarray of shape (n,)
        """
        blocks = list(
            self.sample_blocks(n_per_class, random_state, block_size=block_size, warn=warn)
        )
        if not blocks:
            return np.empty((0, self.means_.shape[1])), self.classes_[:0]
        return tuple(np.concatenate(part) for part in zip(*blocks, strict=True))

    def sample_blocks(self, n_per_class, random_state=None, *, block_size=None, warn=True):
        """Draw the conditions of :meth:`sample` one block at a time.

        The blocks, concatenated, are exactly what :meth:`sample` returns for the
        same arguments and generator state, so a caller that generates windows block
        by block holds at most one block of conditions rather than all of them.

        Parameters
        ----------
        n_per_class, random_state, block_size, warn
            As in :meth:`sample`.

        Yields
        ------
        conditions : ndarray of shape (n_block, n_dims)
        labels : ndarray of shape (n_block,)
            Blocks follow ``classes_`` order; SASS blocks hold at most
            ``block_size`` conditions of one class, GMSS yields one block per class.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> emb = rng.normal(size=(40, 3)); y = np.repeat([0, 1], 20)
        >>> sass = SASS(k=3).fit(emb, y)
        >>> [len(z) for z, _ in sass.sample_blocks(5, 0, block_size=2)]
        [2, 2, 1, 2, 2, 1]
        """
        n_per_code = self._n_per_code(n_per_class)
        check_optional_positive_int(block_size, "block_size", f"{type(self).__name__}.sample: ")
        rng = np.random.default_rng(random_state)
        if warn:
            self._warn_small_classes([c for c, n in n_per_code.items() if n])
        return self._blocks(n_per_code, rng, block_size)

    def _blocks(self, n_per_code, rng, block_size):
        for c, n in n_per_code.items():
            for block in self._draw_blocks(c, n, rng, block_size) if n else ():
                yield block, self.classes_[np.full(len(block), c, dtype=np.int64)]

    def _draw_blocks(self, code, n, rng, block_size):
        """The ``n`` conditions of class ``code``, as successive blocks."""
        yield self._draw(code, n, rng, block_size)

    def _warn_small_classes(self, codes):
        """Warn about classes the sampler cannot treat fully (none for GMSS)."""

    def _draw(self, code, n, rng, block_size):
        return conditions.sample_gmss(self.means_, self.factors_, np.full(n, code), rng)


class SASS(GMSS):
    """Sparse-aware semantic sampling: rare GMSS candidates, pushed into sparse regions.

    Per class, with ``h`` the median distance of the class's real embeddings
    to their ``k``-th neighbour: draw ``oversample`` x more GMSS candidates,
    keep the rarest that lie in the real support (k-NN rarity score of Han et
    al. 2023, :func:`~semgaug_sk.augmentation.conditions.select_rarest`), then
    refine them (:func:`~semgaug_sk.augmentation.conditions.sass_refine`, whose
    docstring gives the formulas and the gradient step): ``n_steps`` steps
    ``z_i <- z_i - (sigma^2 / 2) dU/dz_i`` of all candidates at once, each projected
    back into the ball of radius ``epsilon * h`` around the start ``z_i^0``, on the
    joint potential

    ``U = sum_i [log p(z_i) + diversity * log q_i(z_i) + |z_i - z_i^0|^2 / 2 sigma^2]``,
    ``sigma = epsilon * h / 2``,

    with ``p`` the Gaussian kernel density (width ``h``) of the class's real
    embeddings (sparsity: away from dense real neighbourhoods), ``q_i`` that of
    the other candidates of the same block (diversity: away from each other), and
    a quadratic anchor that keeps each candidate near the region whose rarity
    was measured. The step is scale-free and the descent settles within a few
    tens of steps, so ``n_steps`` beyond the default changes little. A class
    with fewer than ``k + 1`` windows uses ``k = n_class - 1``; a class of one
    window is drawn with GMSS (both with a warning).

    Parameters
    ----------
    oversample : float, default=4.0
        GMSS candidates per condition kept: the rarest quarter, still in the support.
    k : int, default=5
        Neighbour rank of the rarity balls and of ``h``: local, yet stable with few windows.
    epsilon : float, default=0.5
        Radius of the trust region in units of ``h``: half a typical neighbour
        distance, so conditions stay near their class. In a one-change ablation
        on inner splits of DB1 and Myo (``benchmarks/ablate_sass_radius.py``),
        0.25, 1 and no refinement at all (``n_steps=0``) moved the mean accuracy
        of LDA and STC by less than the seed spread.
    n_steps : int, default=20
        Gradient steps; 0 keeps the selected candidates unrefined.
    diversity : float, default=1.0
        Weight of the diversity potential. A pair's repulsion reaches both of its
        candidates, so at 1.0 it pushes about twice as hard as a per-candidate
        mean shift would (see ``sass_refine``). 0 and 4 moved the mean downstream
        accuracy by less than the seed spread (``benchmarks/ablate_sass_diversity.py``).
    covariance : {"oas", "ledoit_wolf"}, default="oas"
        Shrinkage estimator of the candidate Gaussians (see :class:`GMSS`).
    shrinkage_target : {"identity", "diagonal"}, default="identity"
        What the candidate Gaussians shrink towards (see :class:`GMSS`).
    max_reference : int or None, default=2048
        Most real embeddings per class that rarity, ``h`` and the sparsity potential
        are measured against. A larger class is represented by ``max_reference`` of its
        windows spread evenly over the order they were given in (every
        ``n_class / max_reference``-th window: for time-ordered windows, all of the
        recording), so that drawing costs time linear in the windows drawn, not
        ``n_drawn x n_class``: every block of conditions ranks its candidates against
        every reference ball and takes ``n_steps`` kernel passes over the reference.
        None measures against all of them. Classes at most this large are unaffected.
        Below ``k + 1`` it lowers ``k`` for the classes it caps, with a warning.

    Attributes
    ----------
    classes_, means_, covariances_, factors_, counts_
        As in :class:`GMSS` (all the windows).
    embeddings_ : ndarray of shape (n_windows, n_dims)
        The real embeddings; rarity and sparsity are measured against at most
        ``max_reference`` of each class's.
    codes_ : ndarray of shape (n_windows,)
        Class code (index in ``classes_``) of each row of ``embeddings_``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sass = SASS(epsilon=0.3).fit(rng.normal(size=(30, 2)), np.repeat([0, 1], 15))
    >>> z, labels = sass.sample(3, rng)
    >>> z.shape, labels.tolist()
    ((6, 2), [0, 0, 0, 1, 1, 1])
    """

    _parameter_constraints: dict = {
        **GMSS._parameter_constraints,
        "oversample": [Interval(numbers.Real, 1, None, closed="left")],
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "n_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "diversity": [Interval(numbers.Real, 0, None, closed="left")],
        "max_reference": [Interval(numbers.Integral, 2, None, closed="left"), None],
    }

    def __init__(
        self,
        oversample=4.0,
        k=5,
        epsilon=0.5,
        n_steps=20,
        diversity=1.0,
        covariance="oas",
        shrinkage_target="identity",
        max_reference=2048,
    ):
        super().__init__(covariance=covariance, shrinkage_target=shrinkage_target)
        self.oversample = oversample
        self.k = k
        self.epsilon = epsilon
        self.n_steps = n_steps
        self.diversity = diversity
        self.max_reference = max_reference

    def __setstate__(self, state):
        # pickled before max_reference existed: measured against every window
        super().__setstate__({"max_reference": None, **state})

    def reference(self, code):
        """The real embeddings of class ``code`` that rarity and sparsity are measured against.

        All of the class's, or ``max_reference`` of them spread evenly over their order.

        Examples
        --------
        >>> sass = SASS(max_reference=4).fit(np.arange(20.0)[:, None], np.repeat([0, 1], 10))
        >>> sass.reference(1).ravel().tolist()
        [10.0, 13.0, 16.0, 19.0]
        """
        check_is_fitted(self, "embeddings_")
        real = self.embeddings_[self.codes_ == code]
        if self.max_reference is not None and len(real) > self.max_reference:
            # spacing above 1, so the rounded positions are distinct
            rows = np.linspace(0, len(real) - 1, self.max_reference).round().astype(np.int64)
            real = real[rows]
        return real

    def fit(self, embeddings, y):
        """Fit the candidate Gaussians and keep the real embeddings.

        Parameters
        ----------
        embeddings : array-like of shape (n_windows, n_dims)
        y : array-like of shape (n_windows,)

        Returns
        -------
        self : object
        """
        super().fit(embeddings, y)
        self.embeddings_ = np.asarray(embeddings, dtype=np.float64)
        self.codes_ = np.searchsorted(self.classes_, np.asarray(y)).astype(np.int64)
        vars(self).pop("_knn_radii", None)  # radii of the previous fit's classes
        return self

    def _class_neighbourhood(self, code, real, k):
        """The class's typical k-NN radius and its real rarity balls, computed once per
        class and ``k`` after fit: every block of a generation would otherwise run the
        real windows' neighbour searches again (quadratic in their number)."""
        cache = vars(self).setdefault("_knn_radii", {})
        key = (int(code), int(k), self.max_reference)  # set_params may change the reference
        if key not in cache:
            cache[key] = (conditions.knn_radius(real, k), _real_balls(real, k))
        return cache[key]

    def _warn_small_classes(self, codes):
        """One warning per kind of small class, naming them all (not one per class)."""
        labels = self.classes_.tolist()
        single = [labels[c] for c in codes if self.counts_[c] < 2]
        few = [(labels[c], int(self.counts_[c])) for c in codes if 2 <= self.counts_[c] <= self.k]
        if single:
            warnings.warn(
                f"SASS: class(es) {single!r} have 1 window, too few for SASS rarity; their "
                "conditions are drawn with GMSS.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        if few:
            detail = ", ".join(f"{label!r}: {n} windows, k={n - 1}" for label, n in few)
            warnings.warn(
                f"SASS: {len(few)} class(es) have fewer than k + 1 = {self.k + 1} windows, so "
                f"SASS uses a smaller k for them ({detail}).",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        cap = self.max_reference
        capped = [labels[c] for c in codes if cap is not None and self.counts_[c] > cap]
        if capped and cap <= self.k:
            warnings.warn(
                f"SASS: max_reference={cap} is below k + 1 = {self.k + 1}, so SASS uses "
                f"k={cap - 1} for the class(es) it caps ({capped!r}). Raise max_reference "
                "or lower k.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def _draw_blocks(self, code, n, rng, block_size):
        # sass_sample draws its blocks one after the other from rng: drawing them here
        # one at a time gives the same conditions
        # (a class of one window is drawn with GMSS, whose rows come from rng in order too)
        if block_size is None:
            yield from super()._draw_blocks(code, n, rng, block_size)
            return
        for start in range(0, n, block_size):
            yield self._draw(code, min(block_size, n - start), rng, None)

    def _draw(self, code, n, rng, block_size):
        real = self.reference(code)
        if len(real) < 2:
            return super()._draw(code, n, rng, block_size)
        k = min(self.k, len(real) - 1)
        radius, balls = self._class_neighbourhood(code, real, k)
        z, _ = conditions.sass_sample(
            real,
            self.means_[code],
            self.factors_[code],
            n,
            rng,
            k=k,
            oversample=self.oversample,
            epsilon=self.epsilon,
            n_steps=self.n_steps,
            diversity=self.diversity,
            block_size=block_size,
            radius=radius,
            balls=balls,
        )
        return z
