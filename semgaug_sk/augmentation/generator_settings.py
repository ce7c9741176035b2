"""The diffusion generator's settings, shared by DiffusionGenerator and SASGAugmenter.

``GENERATOR_CONSTRAINTS`` validates the parameters, ``GENERATION_PARAMS``
names those that only shape sampling, and :func:`check_generator_settings`
refuses, before anything is trained, settings a fit would fail on.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..nn.unet import patch_size_for
from ..utils.accelerate import check_accelerator_instance
from .diffusion import TIMESTEP_SPACINGS
from .normalisation import nonnegative_mode

__all__ = [
    "GENERATOR_CONSTRAINTS",
    "GENERATION_PARAMS",
    "NEUTRAL_NEW_PARAMS",
    "check_generator_settings",
    "fingerprint_params",
    "patch_size_of",
    "check_sampler",
]

#: Parameters that only shape sampling: changing them after fit needs no refit.
GENERATION_PARAMS = (
    "n_sampling_steps",
    "sampler",
    "timestep_spacing",
    "eta",
    "guidance_scale",
    "generate_batch_size",
)
#: Parameters added after checkpoint folders were first named, at the value that trains as
#: before: a fit's fingerprint leaves them out at that value, so that a fit interrupted by
#: an earlier version still resumes from its folder.
NEUTRAL_NEW_PARAMS = {"cond_noise": (None, 0.0)}


def fingerprint_params(params, patch_size=None):
    """``params`` without those of :data:`NEUTRAL_NEW_PARAMS` at their neutral value, and
    ``nonnegative`` as the mode it names (True is ``"clip"``: the same fit, so the same
    checkpoint folder).

    ``max_length`` is left out too when the fit does not fold its windows (``patch_size``
    1: it then trains as before the parameter existed); without ``patch_size`` it is kept.

    Parameters
    ----------
    params : dict
        A generator's parameters, by name.
    patch_size : int or None, default=None
        The fit's patch size (:func:`patch_size_of`); None keeps ``max_length``.

    Returns
    -------
    params : dict
        A new dict of the other parameters.

    Examples
    --------
    >>> sorted(fingerprint_params({"lr": 1e-3, "cond_noise": 0.0}))
    ['lr']
    >>> sorted(fingerprint_params({"lr": 1e-3, "cond_noise": 0.5}))
    ['cond_noise', 'lr']
    >>> sorted(fingerprint_params({"lr": 1e-3, "max_length": 64}, patch_size=1))
    ['lr']
    >>> sorted(fingerprint_params({"lr": 1e-3, "max_length": 64}, patch_size=4))
    ['lr', 'max_length']
    >>> fingerprint_params({"nonnegative": True})
    {'nonnegative': 'clip'}
    """

    def neutral(key, value):
        if key == "max_length" and patch_size is not None:
            return patch_size == 1
        return any(
            value is n if n is None else (value is not None and value == n)
            for n in NEUTRAL_NEW_PARAMS.get(key, ())
        )

    return {
        k: nonnegative_mode(v) if k == "nonnegative" else v
        for k, v in params.items()
        if not neutral(k, v)
    }


def patch_size_of(params, X):
    """The patch size a fit with generator ``params`` folds windows ``X`` into.

    :func:`~semgaug_sk.nn.unet.patch_size_for` of ``X``'s shape, ``max_length`` and
    ``base_channels``; 1 when the windows are not folded.

    Parameters
    ----------
    params : dict
        Generator parameters with ``max_length`` and ``base_channels``.
    X : array-like of shape (n_windows, n_channels, n_times)
        The windows of the fit.

    Returns
    -------
    patch_size : int
        Samples per patch.

    Examples
    --------
    >>> import numpy as np
    >>> patch_size_of({"max_length": 64, "base_channels": 32}, np.zeros((2, 8, 200)))
    4
    """
    _, n_channels, n_times = np.shape(X)
    return patch_size_for(n_times, params["max_length"], n_channels, params["base_channels"])


#: Parameters that neither shape the model nor name a fit's checkpoint folder.
RUNTIME_PARAMS = ("verbose", "device", "accelerator", "checkpoint_dir", "checkpoint_every")

#: scikit-learn parameter constraints of the generator's parameters.
GENERATOR_CONSTRAINTS: dict = {
    "base_channels": [Interval(numbers.Integral, 1, None, closed="left")],
    "channel_mults": [tuple, list],
    "min_length": [Interval(numbers.Integral, 1, None, closed="left")],
    "max_length": [None, Interval(numbers.Integral, 1, None, closed="left")],
    "n_cond_tokens": [Interval(numbers.Integral, 1, None, closed="left")],
    "cond_token_dim": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_timesteps": [Interval(numbers.Integral, 2, None, closed="left")],
    "prediction": [StrOptions({"x0", "eps", "v"})],
    "n_steps": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    # 1 (which freezes the average at the first step's weights) is refused at fit only,
    # so that a model fitted with it before still loads and samples
    "ema_decay": [None, Interval(numbers.Real, 0, 1, closed="both")],
    "cond_drop_prob": [Interval(numbers.Real, 0, 1, closed="left")],
    "cond_noise": [Interval(numbers.Real, 0, None, closed="left")],
    "fourier_weight": [Interval(numbers.Real, 0, None, closed="left")],
    "n_sampling_steps": [Interval(numbers.Integral, 1, None, closed="left")],
    "sampler": [StrOptions({"ddim", "dpmpp_2m"})],
    "timestep_spacing": [StrOptions(set(TIMESTEP_SPACINGS))],
    # DDIM's family (Song et al.) spans eta in [0, 1]; above 1 the noise outgrows the step
    "eta": [Interval(numbers.Real, 0, 1, closed="both")],
    "guidance_scale": [Interval(numbers.Real, 0, None, closed="left")],
    "nonnegative": [StrOptions({"auto", "clip", "log", "none"}), "boolean"],
    "generate_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "device": [str, torch.device],
    "checkpoint_dir": [None, str, os.PathLike],
    "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
    "accelerator": [None, HasMethods(["prepare", "unwrap_model", "reduce"])],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def check_generator_settings(params, X, who):
    """Refuse settings a fit would fail on, before anything is trained.

    Parameters
    ----------
    params : dict
        ``channel_mults``, ``checkpoint_dir``, ``accelerator``, ``nonnegative``,
        ``sampler`` and ``eta``.
    X : ndarray of shape (n_windows, n_channels, n_times)
    who : str
        Estimator named in the messages.

    Examples
    --------
    >>> import numpy as np
    >>> check_generator_settings(dict(channel_mults=(1, 2), checkpoint_dir=None,
    ...     accelerator=None, nonnegative="auto", sampler="ddim", eta=0.0),
    ...     np.zeros((2, 1, 8)), "DiffusionGenerator")
    """
    if isinstance(params.get("max_length"), bool):  # an Integral to scikit-learn's checks
        raise ValueError(
            f"{who}: max_length must be None or a number of samples; got {params['max_length']!r}."
        )
    mults = tuple(params["channel_mults"])
    if not mults or any(
        isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1 for m in mults
    ):
        raise ValueError(
            f"{who}: channel_mults must be a non-empty tuple of positive integers; "
            f"got {params['channel_mults']!r}."
        )
    if params["checkpoint_dir"] is not None and params["accelerator"] is not None:
        raise ValueError(
            f"{who}: checkpoint_dir is not supported with an accelerator; use "
            "accelerator.save_state in your training script, or set checkpoint_dir=None."
        )
    check_accelerator_instance(params["accelerator"], who, params.get("random_state", 0))
    check_sampler(params["sampler"], params["eta"], who)
    check_guidance(params.get("guidance_scale", 1.0), params.get("cond_drop_prob", 0.1), who)
    for name, least, why in (
        ("cond_token_dim", 3, "the tokens are layer-normalised: 1 value is a constant (no "
         "conditioning at all), 2 a sign"),
        ("base_channels", 4, "it is also the timestep embedding's width, which below 4 "
         "holds one frequency and cannot tell noise levels apart"),
    ):  # fmt: skip
        if name in params and params[name] < least:
            raise ValueError(f"{who}: {name} must be at least {least}; got {params[name]}: {why}.")
    if params.get("ema_decay") == 1:
        raise ValueError(
            f"{who}: ema_decay=1 never updates the average, which would keep the weights of "
            "the first training step; use None (the default, which spans the last tenth of "
            "training), or a decay below 1 that the training steps can wash out."
        )
    if params["nonnegative"] == "log" and float(X.min()) < 0:
        raise ValueError(
            f"{who}: nonnegative='log' needs non-negative windows, but X has values "
            f"down to {float(X.min()):.4g}. Use nonnegative='none' or 'clip' for raw sEMG."
        )


def check_sampler(sampler, eta, who):
    """Refuse a stochastic ``eta`` with a sampler that has none.

    Parameters
    ----------
    sampler : {"ddim", "dpmpp_2m"}
        The generator's ``sampler``.
    eta : float
        The generator's ``eta``; only ``"ddim"`` takes one above 0.
    who : str
        Estimator named in the message.

    Raises
    ------
    ValueError
        When ``eta > 0`` with a sampler other than ``"ddim"``.

    Examples
    --------
    >>> check_sampler("dpmpp_2m", 0.0, "DiffusionGenerator")
    >>> check_sampler("dpmpp_2m", 1.0, "DiffusionGenerator")
    Traceback (most recent call last):
    ...
    ValueError: DiffusionGenerator: eta=1.0 adds DDIM noise, which sampler='dpmpp_2m' does not take; use sampler='ddim' for eta > 0, or eta=0.
    """
    if sampler != "ddim" and eta > 0:
        raise ValueError(
            f"{who}: eta={eta!r} adds DDIM noise, which sampler={sampler!r} does not take; "
            "use sampler='ddim' for eta > 0, or eta=0."
        )


def check_guidance(guidance_scale, cond_drop_prob, who):
    """Refuse classifier-free guidance without a trained null condition.

    Guidance mixes the conditional prediction with the unconditional one, which uses
    the null condition; only condition dropout trains it, so with
    ``cond_drop_prob=0`` a ``guidance_scale`` other than 1 mixes in an untrained
    branch.

    Examples
    --------
    >>> check_guidance(1.5, 0.1, "DiffusionGenerator")
    >>> check_guidance(1.5, 0.0, "DiffusionGenerator")
    Traceback (most recent call last):
    ...
    ValueError: DiffusionGenerator: guidance_scale=1.5 mixes in the unconditional prediction, whose null condition only trains with cond_drop_prob > 0 (got 0.0); use guidance_scale=1.0, or fit with cond_drop_prob > 0 (e.g. 0.1).
    """
    if guidance_scale != 1.0 and cond_drop_prob == 0:
        raise ValueError(
            f"{who}: guidance_scale={guidance_scale!r} mixes in the unconditional prediction, "
            f"whose null condition only trains with cond_drop_prob > 0 (got {cond_drop_prob!r}); "
            "use guidance_scale=1.0, or fit with cond_drop_prob > 0 (e.g. 0.1)."
        )
