"""Share a fitted sub-estimator through its owner's clone, and refuse setting its
parameters through the owner.

A fitted :class:`~semgaug_sk.augmentation.prior.PopulationPrior` held by an owner
(``SASGAugmenter(prior=...)``) is shared, not copied, when the owner is cloned (its
``__sklearn_clone__`` returns itself while :func:`cloning_owner` is active), so that
``GridSearchCV`` and ``cross_validate`` over the owner keep what it learned. Cloned on
its own (the estimator of a search), it gives an unfitted copy as any estimator does,
so a search never refits the user's object. Setting its parameters through an owner
(``aug.set_params(prior__fs=...)``, or a grid over ``prior__...``) would change the one
object every clone holds, concurrently, and change nothing it learned: each candidate of
a search would run the same prior under a different label.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

__all__ = ["SharedSubEstimatorParamsMixin", "cloning_owner", "in_owner_clone"]

_IN_OWNER_CLONE = ContextVar("semgaug_in_owner_clone", default=False)


@contextlib.contextmanager
def cloning_owner():
    """The context in which an owner's parameters are cloned: shared sub-estimators
    (:func:`in_owner_clone` is True) return themselves."""
    token = _IN_OWNER_CLONE.set(True)
    try:
        yield
    finally:
        _IN_OWNER_CLONE.reset(token)


def in_owner_clone() -> bool:
    """Whether ``clone`` is cloning the parameters of an owner of shared sub-estimators."""
    return _IN_OWNER_CLONE.get()


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
    ...         return self if in_owner_clone() else super().__sklearn_clone__()
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

    def __sklearn_clone__(self):
        with cloning_owner():
            return super().__sklearn_clone__()

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
        with cloning_owner():
            return hook() is estimator
    except Exception:  # a clone that fails is not this module's to report
        return False
