"""SRG, the semantic side of SASG-DA: the encoder whose embedding is the condition.

:func:`fit_semantic_encoder` clones and fits (or reloads from a checkpoint, or
takes as already fitted) the encoder of a :class:`SASGAugmenter`;
:func:`embed` embeds the training windows and maps the sampler's classes to the
encoder's probability columns, which the confidence filter reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..encoders import SemanticEncoder
from ..persistence import load_weights, save_weights

__all__ = ["embed", "fit_semantic_encoder"]


def fit_semantic_encoder(aug, X, y, seed, prior=None):
    """The fitted encoder of ``aug`` (a SASGAugmenter being fitted on ``X, y``).

    ``refit_encoder=True``: a clone of ``aug.encoder`` (or a default
    :class:`~semgaug_sk.encoders.SemanticEncoder` on ``aug.device``), seeded
    with ``seed`` unless it has its own ``random_state``, fitted on ``X, y`` or
    reloaded from ``aug.checkpoint_path_``. ``refit_encoder=False``:
    ``aug.encoder`` itself, which must be fitted.

    Parameters
    ----------
    aug : SASGAugmenter
    X : ndarray of shape (n_windows, n_channels, n_times)
    y : ndarray of shape (n_windows,)
    seed : int
    prior : None or fitted PopulationPrior, default=None
        Adapt the prior's encoder instead: the encoder (``aug.encoder``, or a clone of
        the prior's) starts from the prior's weights (``SemanticEncoder(prior=)``).

    Returns
    -------
    encoder : estimator

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> X = np.random.default_rng(0).normal(size=(20, 2, 16)).astype("float32")
    >>> y = np.repeat([0, 1], 10)
    >>> aug = SimpleNamespace(refit_encoder=True, classes_=np.array([0, 1]), checkpoint_path_=None,
    ...                       encoder=SemanticEncoder(embedding_dim=4, n_filters=4, max_epochs=1))
    >>> fit_semantic_encoder(aug, X, y, seed=0).classes_.tolist()
    [0, 1]
    """
    if not aug.refit_encoder:
        if aug.encoder is None:
            raise ValueError(
                "SASGAugmenter: refit_encoder=False needs a fitted encoder; pass "
                "encoder=SemanticEncoder(...).fit(X, y) or set refit_encoder=True."
            )
        try:
            check_is_fitted(aug.encoder)
        except NotFittedError as exc:
            raise NotFittedError(
                f"SASGAugmenter: refit_encoder=False but the encoder "
                f"{type(aug.encoder).__name__} is not fitted. Fit it first (encoder.fit(X, y)), "
                "or set refit_encoder=True. If you did fit it, clone (GridSearchCV, "
                "cross_validate, Pipeline) unfitted its copy: pass "
                "encoder=sklearn.frozen.FrozenEstimator(fitted_encoder), which clone keeps."
            ) from exc
        return aug.encoder
    if len(aug.classes_) < 2 and prior is not None:  # the fixes below all refuse a prior
        raise ValueError(
            "SASGAugmenter(prior=...) fine-tunes the prior's encoder as a classifier on the "
            f"target's windows and needs at least 2 of its gestures; y has 1 "
            f"({aug.classes_.tolist()[0]!r}). Record windows of another gesture the prior "
            "knows, or augment without the prior and with condition='label'."
        )
    if len(aug.classes_) < 2:
        raise ValueError(
            "SASGAugmenter(condition='semantic') trains its SemanticEncoder as a classifier "
            f"and needs at least 2 classes; y has 1 ({aug.classes_.tolist()[0]!r}). Pass windows "
            "of several gestures, use condition='label', or give a pre-fitted encoder "
            "with refit_encoder=False."
        )
    if prior is not None:
        encoder = clone(prior.encoder_) if aug.encoder is None else clone(aug.encoder)
        encoder.set_params(prior=prior, device=aug.device, accelerator=aug.accelerator)
        if aug.encoder is None or encoder.random_state is None:
            encoder.set_params(random_state=seed, verbose=int(aug.verbose >= 2))
        return encoder.fit(X, y)
    if aug.encoder is None:
        encoder = SemanticEncoder(
            device=aug.device,
            accelerator=aug.accelerator,
            random_state=seed,
            verbose=int(aug.verbose >= 2),
        )
    else:
        encoder = clone(aug.encoder)
        if "random_state" in encoder.get_params() and encoder.random_state is None:
            encoder.set_params(random_state=seed)
    if aug.checkpoint_path_ is None or type(encoder) is not SemanticEncoder:
        return encoder.fit(X, y)
    path = Path(aug.checkpoint_path_) / "encoder.pt"
    if path.is_file():
        # what a weights file cannot hold (a module instance or class of the user's, an
        # accelerator) comes from the encoder this fit was given, as at training
        plain = (str, int, float, bool, type(None), tuple, list, dict, np.generic)
        given = {
            k: v for k, v in encoder.get_params(deep=False).items() if not isinstance(v, plain)
        }
        try:
            return load_weights(
                path, device=encoder.device, estimator_type=SemanticEncoder, params=given or None
            )
        except (ValueError, TypeError) as exc:  # damaged outside the library
            raise ValueError(
                f"the encoder checkpoint {path} cannot be read ({exc}). Delete the folder "
                f"{path.parent} to start this fit afresh."
            ) from exc
    encoder.fit(X, y)
    # atomic, through a temporary file of its own: never a half-written encoder file, even
    # when two fits of a parallel search share the checkpoint folder
    save_weights(encoder, path)
    return encoder


def embed(encoder, X, classes):
    """Embeddings of ``X`` and the encoder's probability column of each of ``classes``.

    Parameters
    ----------
    encoder : fitted estimator with ``transform`` and ``classes_``
    X : ndarray of shape (n_windows, n_channels, n_times)
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    columns : ndarray of int of shape (n_classes,)
    embeddings : ndarray of float64 of shape (n_windows, n_dims)

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> enc = SimpleNamespace(classes_=np.array(["b", "a"]), transform=lambda X: X[:, 0, :2])
    >>> columns, emb = embed(enc, np.ones((3, 1, 4)), np.array(["a", "b"]))
    >>> columns.tolist(), emb.shape
    ([1, 0], (3, 2))
    """
    known = {c: i for i, c in enumerate(np.asarray(encoder.classes_).tolist())}
    missing = [c for c in classes.tolist() if c not in known]
    if missing:
        raise ValueError(
            f"SASGAugmenter: the encoder does not know the classes {missing!r} of y (it knows "
            f"{list(known)!r}). Fit the encoder on these classes or set refit_encoder=True."
        )
    emb = np.asarray(encoder.transform(X), dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(X):
        raise ValueError(
            f"SASGAugmenter: encoder.transform must return (n_windows, embedding_dim); got "
            f"shape {emb.shape}."
        )
    return np.array([known[c] for c in classes.tolist()]), emb
