"""Refuse setting the parameters of a shared, fitted sub-estimator through its owner.

A fitted :class:`~semgaug_sk.augmentation.prior.PopulationPrior` is shared, not
copied, by ``clone`` (its ``__sklearn_clone__`` returns itself), so that
``GridSearchCV`` and ``cross_validate`` keep what it learned. Setting its parameters
through an owner (``aug.set_params(prior__fs=...)``, or a grid over ``prior__...``)
would then change the one object every clone holds, concurrently, and change nothing it
learned: each candidate of a search would run the same prior under a different label.
"""

from __future__ import annotations

__all__ = ["SharedSubEstimatorParamsMixin"]


class SharedSubEstimatorParamsMixin:
    """``set_params`` refuses ``<name>__<param>`` when ``<name>`` is shared by ``clone``.

    Subclasses list the parameter names that may hold such an estimator in
    ``_shared_sub_estimators``. It also refuses, with a message naming the fix,
    ``<name>__<param>`` when ``<name>`` is None or a string (``sampling="sass"``),
    which have no parameters to set.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class Frozen(BaseEstimator):
    ...     def __init__(self, a=1):
    ...         self.a = a
    ...     def __sklearn_clone__(self):
    ...         return self
    >>> class Owner(SharedSubEstimatorParamsMixin, BaseEstimator):
    ...     _shared_sub_estimators = ("prior",)
    ...     def __init__(self, prior=None):
    ...         self.prior = prior
    >>> Owner(prior=Frozen()).set_params(prior__a=2)
    Traceback (most recent call last):
    ...
    ValueError: Owner.set_params: prior__a would change the prior that clone shares ...
    """

    _shared_sub_estimators: tuple[str, ...] = ()

    def set_params(self, **params):
        # a default (None) or a name ("sass") has no parameters: scikit-learn would fail
        # with "'str' object has no attribute 'set_params'"
        own = self.get_params(deep=False)  # a misspelt name gets scikit-learn's own error
        for name in sorted({k.split("__", 1)[0] for k in params if "__" in k} & own.keys()):
            sub = params.get(name, own[name])
            if sub is None or isinstance(sub, str):
                nested = ", ".join(sorted(k for k in params if k.startswith(f"{name}__")))
                raise ValueError(
                    f"{type(self).__name__}.set_params: {nested} sets parameters of {name}, "
                    f"which is {sub!r} (a default or a name, with no parameters of its own). "
                    f"Pass {name}= an estimator with those settings, or set {name} to an "
                    f"estimator in the same call (in a grid: {name}=[estimator] beside "
                    f"{nested.split(', ')[0]})."
                )
        for name in self._shared_sub_estimators:
            nested = sorted(k for k in params if k.startswith(f"{name}__"))
            sub = params.get(name, getattr(self, name, None))
            if nested and _is_shared_by_clone(sub):
                raise ValueError(
                    f"{type(self).__name__}.set_params: {', '.join(nested)} would change the "
                    f"{name} that clone shares among estimators (it is fitted: GridSearchCV, "
                    f"cross_validate and clone keep it, not a copy), for all of them at "
                    f"once, and would change nothing it learned. Fit another "
                    f"{type(sub).__name__} with those settings and pass it as {name}= "
                    f"(or search over {name}=[a, b])."
                )
        return super().set_params(**params)


def _is_shared_by_clone(estimator) -> bool:
    hook = getattr(estimator, "__sklearn_clone__", None)
    if hook is None or isinstance(estimator, type):
        return False
    try:
        return hook() is estimator
    except Exception:  # a clone that fails is not this module's to report
        return False
