"""Diffusion numerics for SASG-DA: noise schedule, training loss, DDIM and DPM-Solver++ samplers.

Pure torch functions; the estimator in :mod:`semgaug_sk.augmentation.generator`
holds the state. The network predicts one of three equivalent targets
(``prediction``):

- ``"x0"``: the clean window (the default), which lets a frequency-domain loss
  act on the prediction directly;
- ``"eps"``: the noise (Ho et al., 2020);
- ``"v"``: the velocity ``sqrt(ab) eps - sqrt(1 - ab) x0`` (Salimans & Ho, 2022).

Every prediction is turned into an x0 estimate by :func:`x0_from_prediction`, so
guidance and DDIM see x0 whatever the network predicts.

Notation: ``alpha_bar[t]`` (``ab``) is the cumulative signal fraction of step ``t``, so
``x_t = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * eps``.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable

import torch
from torch.nn import functional as F

__all__ = [
    "PREDICTIONS",
    "TIMESTEP_SPACINGS",
    "check_strength",
    "cosine_alpha_bar",
    "ddim_sample",
    "ddim_timesteps",
    "sampling_timesteps",
    "dpmpp_2m_sample",
    "diffusion_loss",
    "fourier_loss",
    "guided_x0",
    "prediction_target",
    "q_sample",
    "x0_diffusion_loss",
    "x0_from_prediction",
]

#: What the denoiser can be trained to predict.
PREDICTIONS = ("x0", "eps", "v")
#: How the samplers place their network passes on the schedule (:func:`sampling_timesteps`).
TIMESTEP_SPACINGS = ("uniform", "quadratic", "logsnr")


@functools.lru_cache(maxsize=16)
def _cosine_alpha_bar_cpu(n_timesteps: int, s: float) -> torch.Tensor:
    steps = torch.arange(n_timesteps + 1, dtype=torch.float64) / n_timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0).float()


def cosine_alpha_bar(n_timesteps: int = 500, s: float = 0.008, device="cpu") -> torch.Tensor:
    """Cumulative signal fractions of the cosine schedule (Nichol & Dhariwal, 2021).

    Parameters
    ----------
    n_timesteps : int, default=500
        Number of diffusion steps ``T``.
    s : float, default=0.008
        Small offset that keeps the first steps from being too small.
    device : str or torch.device, default="cpu"

    Returns
    -------
    alpha_bar : Tensor of shape (n_timesteps,)
        Decreasing from just below 1 to about 0; step ``t`` of the forward process
        uses ``alpha_bar[t]``. Per-step betas are clipped at 0.999.

    Examples
    --------
    >>> ab = cosine_alpha_bar(500)
    >>> ab.shape, bool(ab[0] > 0.99), bool(ab[-1] < 1e-3)
    (torch.Size([500]), True, True)
    """
    # a copy: the cached tensor is shared, and a caller may write into its result
    return _cosine_alpha_bar_cpu(int(n_timesteps), float(s)).to(device, copy=True)


def q_sample(x0: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor):
    """Noise clean windows ``x0`` to step ``t``: ``sqrt(ab) x0 + sqrt(1 - ab) noise``.

    Parameters
    ----------
    x0 : Tensor of shape (batch, channels, times)
        Clean windows.
    t : long Tensor of shape (batch,) or int
        Timestep of each window (an int: the same for all).
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`, on ``x0``'s device.
    noise : Tensor of the shape of ``x0``
        Standard Gaussian noise.

    Returns
    -------
    x_t : Tensor of the shape of ``x0``
        The noised windows.

    Examples
    --------
    >>> ab = cosine_alpha_bar(10)
    >>> q_sample(torch.ones(2, 1, 4), torch.tensor([0, 9]), ab, torch.zeros(2, 1, 4)).shape
    torch.Size([2, 1, 4])
    """
    ab = alpha_bar[t].view(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def _signal_fraction(alpha_bar, t, like):
    return alpha_bar[t].view(-1, *([1] * (like.dim() - 1)))


def _check_prediction(prediction, who):
    if prediction not in PREDICTIONS:
        raise ValueError(f"{who}: prediction must be one of {PREDICTIONS}; got {prediction!r}.")


def prediction_target(x0, noise, t, alpha_bar, prediction="x0"):
    """What a denoiser trained with ``prediction`` should output for ``x_t = q_sample(x0, t)``.

    ``"x0"``: ``x0``; ``"eps"``: ``noise``; ``"v"``: ``sqrt(ab) noise - sqrt(1 - ab) x0``.

    Parameters
    ----------
    x0 : Tensor of shape (batch, channels, times)
        Clean windows.
    noise : Tensor of the shape of ``x0``
        The noise that made ``x_t``.
    t : long Tensor of shape (batch,)
        Timestep of each window (used by ``"v"`` only).
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`.
    prediction : {"x0", "eps", "v"}, default="x0"
        What the denoiser predicts.

    Returns
    -------
    target : Tensor of the shape of ``x0``
        ``x0`` or ``noise`` themselves for ``"x0"`` and ``"eps"``.

    Raises
    ------
    ValueError
        When ``prediction`` is not one of :data:`PREDICTIONS`.

    Examples
    --------
    >>> ab = cosine_alpha_bar(10)
    >>> x0, noise = torch.ones(1, 1, 2), torch.zeros(1, 1, 2)
    >>> prediction_target(x0, noise, torch.tensor([0]), ab, "eps").tolist()
    [[[0.0, 0.0]]]
    """
    _check_prediction(prediction, "prediction_target")
    if prediction == "x0":
        return x0
    if prediction == "eps":
        return noise
    ab = _signal_fraction(alpha_bar, t, x0)
    return ab.sqrt() * noise - (1 - ab).sqrt() * x0


def x0_from_prediction(pred, x_t, t, alpha_bar, prediction="x0"):
    """The x0 estimate implied by a denoiser's output (inverse of :func:`prediction_target`).

    ``"eps"``: ``(x_t - sqrt(1 - ab) eps) / sqrt(ab)``; ``"v"``:
    ``sqrt(ab) x_t - sqrt(1 - ab) v``. Both are affine in the prediction with
    coefficients that depend only on ``t``, so classifier-free guidance gives the same
    result applied before or after the conversion.

    Parameters
    ----------
    pred : Tensor of shape (batch, channels, times)
        The denoiser's output.
    x_t : Tensor of the shape of ``pred``
        The noisy windows it was given.
    t : long Tensor of shape (batch,)
        Timestep of each window (unused for ``"x0"``).
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`.
    prediction : {"x0", "eps", "v"}, default="x0"
        What the denoiser predicts.

    Returns
    -------
    x0_hat : Tensor of the shape of ``pred``
        ``pred`` itself for ``"x0"``.

    Raises
    ------
    ValueError
        When ``prediction`` is not one of :data:`PREDICTIONS`.

    Examples
    --------
    >>> ab = cosine_alpha_bar(10)
    >>> x0, noise, t = torch.randn(3, 2, 4), torch.randn(3, 2, 4), torch.tensor([0, 4, 9])
    >>> x_t = q_sample(x0, t, ab, noise)
    >>> v = prediction_target(x0, noise, t, ab, "v")
    >>> bool(torch.allclose(x0_from_prediction(v, x_t, t, ab, "v"), x0, atol=1e-5))
    True
    """
    _check_prediction(prediction, "x0_from_prediction")
    if prediction == "x0":
        return pred
    ab = _signal_fraction(alpha_bar, t, x_t)
    if prediction == "eps":
        return (x_t - (1 - ab).sqrt() * pred) / ab.sqrt()
    return ab.sqrt() * x_t - (1 - ab).sqrt() * pred


def fourier_loss(pred: torch.Tensor, target: torch.Tensor, norm: str = "l1") -> torch.Tensor:
    """Distance between the rFFT magnitude spectra of two batches of windows (last axis = time).

    Parameters
    ----------
    pred, target : Tensor of shape (batch, channels, times)
    norm : {"l1", "l2"}, default="l1"

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> x = torch.randn(2, 3, 16)
    >>> float(fourier_loss(x, x))
    0.0
    """
    mag_pred = torch.fft.rfft(pred, dim=-1, norm="ortho").abs()
    mag_true = torch.fft.rfft(target, dim=-1, norm="ortho").abs()
    if norm == "l2":
        return F.mse_loss(mag_pred, mag_true)
    if norm == "l1":
        return F.l1_loss(mag_pred, mag_true)
    raise ValueError(f"fourier_loss: norm must be 'l1' or 'l2'; got {norm!r}.")


def diffusion_loss(
    denoiser: Callable,
    x0: torch.Tensor,
    cond: torch.Tensor,
    alpha_bar: torch.Tensor,
    *,
    prediction: str = "x0",
    cond_drop_prob: float = 0.1,
    cond_noise: float = 0.0,
    fourier_weight: float = 0.1,
    fourier_norm: str = "l1",
    criterion: Callable | None = None,
    generator: torch.Generator | None = None,
):
    """Training loss of a conditional denoiser on one batch.

    Draws a uniform timestep and Gaussian noise per window, drops the condition
    of each window with probability ``cond_drop_prob`` (classifier-free
    guidance training), adds Gaussian noise of sd ``cond_noise`` to vector conditions
    (conditioning augmentation), and returns ``MSE(pred, target) + fourier_weight *
    fourier_loss(x0_hat, x0)``, where ``target`` is :func:`prediction_target`
    and ``x0_hat`` is :func:`x0_from_prediction` (the first term is ``criterion``
    when given). With ``prediction="eps"`` both spectra are scaled by
    ``sqrt(ab)``: ``sqrt(ab) x0_hat = x_t - sqrt(1 - ab) eps_hat`` stays bounded
    where ``ab`` is near 0, while ``x0_hat`` itself does not.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x_t, t, cond, drop_mask) -> prediction``.
    x0 : Tensor of shape (batch, channels, times)
        Clean (normalised) windows.
    cond : Tensor
        Conditions, one per window.
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`, on ``x0``'s device.
    prediction : {"x0", "eps", "v"}, default="x0"
        What the denoiser predicts.
    cond_drop_prob : float, default=0.1
    cond_noise : float, default=0.0
        Sd of the Gaussian noise added to each floating-point condition vector, drawn
        afresh at every step (conditioning augmentation: Zhang et al. 2017, StackGAN;
        Ho et al. 2022, cascaded diffusion). The denoiser then cannot read one training
        window back from its exact condition, and conditions between the training ones
        decode to windows it has learned to make. Integer conditions (class codes) are
        left as they are.
    fourier_weight : float, default=0.1
    fourier_norm : {"l1", "l2"}, default="l1"
    criterion : callable, optional
        ``criterion(pred, target)``, the data term; mean squared error when None.
    generator : torch.Generator, optional
        CPU generator for the timesteps, noise and dropout mask (drawn on CPU, then
        moved to ``x0``'s device). When None, torch's global generator of ``x0``'s
        device is used and nothing is drawn on the CPU.

    Returns
    -------
    loss : Tensor (scalar)
        Total loss (differentiable).
    parts : dict
        Detached ``"mse"`` and ``"fourier"`` terms.

    Examples
    --------
    >>> den = lambda x, t, c, m: x * 0
    >>> loss, parts = diffusion_loss(den, torch.ones(4, 2, 8), torch.zeros(4, 3),
    ...                              cosine_alpha_bar(50))
    >>> round(float(parts["mse"]), 3)
    1.0
    """
    _check_prediction(prediction, "diffusion_loss")
    batch = x0.shape[0]
    device = x0.device
    draw_on = device if generator is None else "cpu"
    t = torch.randint(0, alpha_bar.shape[0], (batch,), device=draw_on, generator=generator)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=draw_on)
    drop = torch.rand(batch, generator=generator, device=draw_on) < cond_drop_prob
    t, noise, drop = t.to(device), noise.to(device), drop.to(device)
    if cond_noise > 0 and cond is not None and torch.is_floating_point(cond):
        # drawn after the other draws, so that cond_noise=0 leaves the stream as it was
        jitter = torch.randn(cond.shape, generator=generator, dtype=cond.dtype, device=draw_on)
        cond = cond + cond_noise * jitter.to(device)
    x_t = q_sample(x0, t, alpha_bar, noise)
    pred = denoiser(x_t, t, cond, drop)
    target = prediction_target(x0, noise, t, alpha_bar, prediction)
    mse = F.mse_loss(pred, target) if criterion is None else criterion(pred, target)
    loss = mse
    four = torch.zeros((), device=device)
    if fourier_weight > 0:
        x0_hat = x0_from_prediction(pred, x_t, t, alpha_bar, prediction)
        if prediction == "eps":
            scale = _signal_fraction(alpha_bar, t, x0).sqrt()
            four = fourier_loss(scale * x0_hat, scale * x0, fourier_norm)
        else:
            four = fourier_loss(x0_hat, x0, fourier_norm)
        loss = mse + fourier_weight * four
    return loss, {"mse": mse.detach(), "fourier": four.detach()}


def x0_diffusion_loss(denoiser, x0, cond, alpha_bar, **kwargs):
    """:func:`diffusion_loss` of an x0-predicting denoiser (``prediction="x0"``).

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x_t, t, cond, drop_mask) -> x0_hat``.
    x0 : Tensor of shape (batch, channels, times)
        Clean (normalised) windows.
    cond : Tensor
        Conditions, one per window.
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`, on ``x0``'s device.
    **kwargs
        Keyword arguments of :func:`diffusion_loss` other than ``prediction``.

    Returns
    -------
    loss : Tensor (scalar)
        Total loss (differentiable).
    parts : dict
        Detached ``"mse"`` and ``"fourier"`` terms.

    Examples
    --------
    >>> den = lambda x, t, c, m: x * 0
    >>> loss, parts = x0_diffusion_loss(den, torch.ones(4, 2, 8), torch.zeros(4, 3),
    ...                                 cosine_alpha_bar(50))
    >>> round(float(parts["mse"]), 3)
    1.0
    """
    return diffusion_loss(denoiser, x0, cond, alpha_bar, prediction="x0", **kwargs)


def guided_x0(
    denoiser: Callable,
    x_t: torch.Tensor,
    t: torch.Tensor,
    cond: torch.Tensor,
    guidance_scale: float = 1.0,
) -> torch.Tensor:
    """x0 prediction with classifier-free guidance.

    ``x0 = x0_uncond + w * (x0_cond - x0_uncond)``. With ``w == 1`` this is the
    conditional prediction, and the unconditional pass is skipped entirely
    (half the cost); ``w == 0`` is unconditional.

    Parameters
    ----------
    denoiser : callable
        ``denoiser(x_t, t, cond, drop_mask) -> x0_hat``.
    x_t : Tensor of shape (batch, channels, times)
    t : Tensor of shape (batch,)
    cond : Tensor
        One condition per window.
    guidance_scale : float, default=1.0

    Returns
    -------
    x0_hat : Tensor of shape (batch, channels, times)

    Examples
    --------
    >>> den = lambda x, t, c, m: x + (0 if m is None else (~m).float().view(-1, 1, 1))
    >>> guided_x0(den, torch.zeros(2, 1, 3), torch.zeros(2), None, 2.0)[0, 0, 0].item()
    2.0
    """
    if guidance_scale == 1.0:
        return denoiser(x_t, t, cond, None)
    batch = x_t.shape[0]
    if guidance_scale == 0.0:
        return denoiser(x_t, t, cond, torch.ones(batch, dtype=torch.bool, device=x_t.device))
    drop = torch.cat(
        [
            torch.zeros(batch, dtype=torch.bool, device=x_t.device),
            torch.ones(batch, dtype=torch.bool, device=x_t.device),
        ]
    )
    both_cond = None if cond is None else torch.cat([cond, cond])
    out = denoiser(torch.cat([x_t, x_t]), torch.cat([t, t]), both_cond, drop)
    x0_c, x0_u = out[:batch], out[batch:]
    return x0_u + guidance_scale * (x0_c - x0_u)


def ddim_timesteps(n_timesteps: int, n_steps: int, strength: float = 1.0) -> torch.Tensor:
    """Decreasing, evenly spaced subset of ``n_steps`` timesteps, from ``t0`` down to 0.

    ``t0`` is ``T - 1`` at ``strength=1``; below, SDEdit's partial trajectory (Meng et al.
    2022) starts at ``t0 = round(strength * (T - 1))``, and the ``n_steps`` steps are
    spaced evenly from there (at most ``t0 + 1`` of them). Every strength keeps its own
    start, whatever ``n_steps``, and the cost stays ``n_steps`` network passes.

    Parameters
    ----------
    n_timesteps : int
        Number of diffusion steps ``T`` of the schedule.
    n_steps : int
        Network passes wanted (at least 1).
    strength : float in (0, 1], default=1.0
        Start of the trajectory as a fraction of the schedule.

    Returns
    -------
    timesteps : long Tensor of shape (min(n_steps, t0 + 1),)
        Decreasing from ``t0`` to 0 (just ``[t0]`` for one step).

    Raises
    ------
    ValueError
        When ``n_steps`` is not an integer >= 1 or ``strength`` is outside (0, 1].

    Examples
    --------
    >>> ddim_timesteps(500, 5).tolist()
    [499, 374, 250, 125, 0]
    >>> ddim_timesteps(500, 5, strength=0.5).tolist()
    [250, 188, 125, 62, 0]
    >>> ddim_timesteps(500, 1, strength=0.5).tolist()
    [250]

    More steps than timesteps use every timestep once:

    >>> ddim_timesteps(4, 10).tolist()
    [3, 2, 1, 0]
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1 (network passes); got {n_steps!r}.")
    check_strength(strength, "ddim_timesteps")
    first = n_timesteps - 1 if strength == 1 else round(float(strength) * (n_timesteps - 1))
    n_steps = min(int(n_steps), int(first) + 1)
    if n_steps == 1:
        return torch.tensor([first])
    return torch.linspace(first, 0, n_steps).round().long()


def sampling_timesteps(
    alpha_bar: torch.Tensor, n_steps: int, strength: float = 1.0, spacing: str = "uniform"
) -> torch.Tensor:
    """The decreasing timesteps a sampler visits, from its start ``t0`` down to 0.

    ``min(n_steps, t0 + 1)`` distinct timesteps, the first ``t0`` (as in
    :func:`ddim_timesteps`) and the last 0, placed by ``spacing``:

    - ``"uniform"``: evenly spaced in ``t`` (:func:`ddim_timesteps`). On the cosine
      schedule the last step, to ``t = 0``, then spans a long stretch of log-SNR, where
      the solvers' discretisation error concentrates.
    - ``"quadratic"``: ``t = t0 u^2`` for ``u`` evenly spaced from 1 to 0, the
      "quadratic" selection of Song et al. (2021, DDIM), denser near the data.
    - ``"logsnr"``: evenly spaced in the half log-SNR ``log(sqrt(ab) / sqrt(1 - ab))``,
      as DPM-Solver does (Lu et al. 2022). The cosine schedule's last beta is clipped
      at 0.999, which pushes the log-SNR of its last timestep far below its
      neighbour's; from there the span starts at the neighbour's log-SNR (the first
      pass stays at ``t0``), as DPM-Solver truncates the cosine schedule's end.

    Rounded to timesteps, near neighbours can coincide: they are moved apart by the
    least needed, so every pass is at its own timestep.

    Parameters
    ----------
    alpha_bar : Tensor of shape (n_timesteps,)
        The schedule (:func:`cosine_alpha_bar`).
    n_steps : int
        Network passes wanted.
    strength : float in (0, 1], default=1.0
        Start of the trajectory as a fraction of the schedule (:func:`ddim_timesteps`).
    spacing : {"uniform", "quadratic", "logsnr"}, default="uniform"

    Returns
    -------
    timesteps : long Tensor of shape (min(n_steps, t0 + 1),)

    Examples
    --------
    >>> ab = cosine_alpha_bar(500)
    >>> sampling_timesteps(ab, 5).tolist()
    [499, 374, 250, 125, 0]
    >>> sampling_timesteps(ab, 5, spacing="quadratic").tolist()
    [499, 281, 125, 31, 0]
    >>> sampling_timesteps(ab, 5, spacing="logsnr").tolist()
    [499, 485, 331, 36, 0]
    """
    if spacing not in TIMESTEP_SPACINGS:
        raise ValueError(
            f"spacing must be one of {list(TIMESTEP_SPACINGS)} (how the sampler's passes "
            f"are placed on the schedule); got {spacing!r}."
        )
    n_timesteps = int(alpha_bar.shape[0])
    uniform = ddim_timesteps(n_timesteps, n_steps, strength)
    if spacing == "uniform" or len(uniform) < 3:
        return uniform
    first, n = int(uniform[0]), len(uniform)
    fraction = torch.linspace(1, 0, n, dtype=torch.float64)
    if spacing == "quadratic":
        wanted = first * fraction**2
    else:
        ab = alpha_bar.detach().cpu().double()
        half_log_snr = 0.5 * (ab.log() - (1 - ab).log())
        top = first - 1 if first == n_timesteps - 1 else first
        targets = half_log_snr[0] + fraction * (half_log_snr[top] - half_log_snr[0])
        # half_log_snr decreases with t: the nearest timestep of each target
        nearest = (half_log_snr[None, : first + 1] - targets[:, None]).abs().argmin(dim=1)
        wanted = nearest.double()
        wanted[0] = first
    return _distinct_decreasing(wanted.round().long())


def _distinct_decreasing(timesteps: torch.Tensor) -> torch.Tensor:
    """``timesteps`` (decreasing, from ``t0`` to 0, at most ``t0 + 1`` of them) made strictly
    decreasing by the least moves, keeping the first at ``t0`` and the last at 0."""
    position = torch.arange(len(timesteps))
    # each at most one below the previous, then each at least one above the next
    capped = torch.cummin(timesteps + position, dim=0).values - position
    capped[-1] = 0
    reverse = torch.flip(capped + position, dims=[0])
    return torch.flip(torch.cummax(reverse, dim=0).values, dims=[0]) - position


def check_strength(strength, who):
    """Refuse a ``strength`` outside (0, 1] with a message that names ``who``.

    Parameters
    ----------
    strength : float
        Start of a trajectory as a fraction of the schedule.
    who : str
        Named at the start of the message.

    Raises
    ------
    ValueError
        When ``strength`` is a bool, not a real number, or outside (0, 1].

    Examples
    --------
    >>> check_strength(0.5, "f")
    >>> check_strength(0, "f")
    Traceback (most recent call last):
    ...
    ValueError: f: strength must be a number in (0, 1] (where the trajectory starts from a noised start window, as a fraction of the diffusion schedule); got 0.
    """
    ok = isinstance(strength, numbers.Real) and not isinstance(strength, bool)
    if not ok or not 0 < float(strength) <= 1:
        raise ValueError(
            f"{who}: strength must be a number in (0, 1] (where the trajectory starts from a "
            f"noised start window, as a fraction of the diffusion schedule); got {strength!r}."
        )


@torch.no_grad()
def ddim_sample(
    x0_fn: Callable,
    shape: tuple,
    alpha_bar: torch.Tensor,
    *,
    n_steps: int = 25,
    eta: float = 0.0,
    clip: float | None = None,
    generator: torch.Generator | None = None,
    device="cpu",
    dtype=torch.float32,
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    spacing: str = "uniform",
) -> torch.Tensor:
    """Deterministic (``eta=0``) or stochastic DDIM sampling with an x0 predictor.

    Parameters
    ----------
    x0_fn : callable
        ``x0_fn(x_t, t) -> x0_hat`` for a batch (``t`` a long tensor of shape (batch,)).
    shape : tuple
        Shape of the batch to generate, e.g. ``(batch, channels, times)``.
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`, on ``device``.
    n_steps : int, default=25
        Number of denoising steps (a subset of the training timesteps).
    eta : float, default=0.0
        DDIM stochasticity: 0 is deterministic given the initial noise, 1 matches DDPM.
    clip : float, optional
        Clamp each x0 prediction to ``[-clip, clip]`` (in normalised units).
    generator : torch.Generator, optional
        CPU generator for the initial and per-step noise. Noise is drawn on CPU and
        moved to ``device``, so CPU and CUDA runs start from the same noise.
    device : str or torch.device, default="cpu"
    dtype : torch dtype, default=torch.float32
    init : Tensor of shape ``shape``, optional
        Start windows (normalised): the trajectory starts from them noised to its
        first timestep ``t0``, ``sqrt(ab[t0]) init
        + sqrt(1 - ab[t0]) noise`` (SDEdit, Meng et al. 2022), instead of from pure noise.
    strength : float in (0, 1], default=1.0
        Where the trajectory starts, as a fraction of the schedule (:func:`ddim_timesteps`);
        needs ``init`` below 1. At 1 the start windows are lost in the noise.
    spacing : {"uniform", "quadratic", "logsnr"}, default="uniform"
        Where the ``n_steps`` passes fall on the schedule (:func:`sampling_timesteps`).

    Returns
    -------
    x0 : Tensor of shape ``shape``

    Examples
    --------
    >>> ab = cosine_alpha_bar(100)
    >>> out = ddim_sample(lambda x, t: torch.zeros_like(x), (3, 2, 8), ab, n_steps=5)
    >>> out.shape, float(out.abs().max())
    (torch.Size([3, 2, 8]), 0.0)
    """

    def update(x, x0_hat, t, s):
        ab_t, ab_prev = alpha_bar[t], alpha_bar[s]
        eps = (x - ab_t.sqrt() * x0_hat) / (1 - ab_t).sqrt()
        sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).clamp(min=0).sqrt()
        x = ab_prev.sqrt() * x0_hat + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0:
            x = x + sigma * torch.randn(shape, generator=generator, dtype=dtype).to(device)
        return x

    return _integrate(
        x0_fn,
        shape,
        alpha_bar,
        n_steps,
        clip,
        generator,
        device,
        dtype,
        update,
        init,
        strength,
        spacing,
    )


@torch.no_grad()
def dpmpp_2m_sample(
    x0_fn: Callable,
    shape: tuple,
    alpha_bar: torch.Tensor,
    *,
    n_steps: int = 25,
    clip: float | None = None,
    generator: torch.Generator | None = None,
    device="cpu",
    dtype=torch.float32,
    lower_order_final: bool = False,
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    spacing: str = "uniform",
) -> torch.Tensor:
    """Second-order multistep sampling of the probability-flow ODE (DPM-Solver++(2M)).

    Lu et al. (2022), "DPM-Solver++", algorithm 2, for an x0 predictor. With
    ``alpha = sqrt(ab)``, ``sigma = sqrt(1 - ab)`` and the half log-SNR
    ``lambda = log(alpha / sigma)``, one step from ``t`` to ``s`` (``h = lambda_s -
    lambda_t > 0``) is the exponential integrator

    ``x_s = (sigma_s / sigma_t) x_t - alpha_s (exp(-h) - 1) D``,

    with ``D = x0_t`` on the first step (this is DDIM with ``eta=0``) and, from the
    second step on, the linear extrapolation in ``lambda`` of the last two x0
    predictions ``D = (1 + 1 / (2 r)) x0_t - 1 / (2 r) x0_prev``, where ``r =
    h_prev / h``. It costs one network evaluation per step, as DDIM does, and its
    error shrinks with the square of the step instead of linearly. Like
    :func:`ddim_sample` it returns the x0 prediction at the last timestep.

    With few steps the error is not always smaller than DDIM's. By default
    (``spacing="uniform"``) the timesteps are evenly spaced in ``t``
    (:func:`ddim_timesteps`), so on the cosine schedule the last step (to ``t = 0``)
    is long in log-SNR, and its second-order extrapolation overshoots: with an exact denoiser and data ``N(0, s^2)`` (in the normalised
    units), 10 steps give samples whose std is 1.10 s for ``s = 1``, 1.30 s for
    ``s = 0.3`` and 0.96 s for ``s = 0.1``, where DDIM's 10 steps give 0.87 s, 0.78 s
    and 0.53 s (25 steps: 1.01 s, 1.11 s, 1.16 s against 0.95 s, 0.91 s, 0.78 s). On
    mixtures of well-separated narrow modes
    both stay within about 8%. The library's default (10 steps) was chosen on real
    windows, where the generated windows are smoother than the real ones, not wider
    (``results/README.md``, "SASG-DA cost: how the defaults were chosen"). The
    denser spacings of :func:`sampling_timesteps` remove most of the distortion with
    an exact denoiser, but on real windows they did not make them less smooth
    (``benchmarks/ablate_timestep_spacing.py``).

    Parameters
    ----------
    x0_fn : callable
        ``x0_fn(x_t, t) -> x0_hat`` for a batch (``t`` a long tensor of shape (batch,)).
    shape : tuple
        Shape of the batch to generate.
    alpha_bar : Tensor of shape (n_timesteps,)
        Schedule from :func:`cosine_alpha_bar`, on ``device``.
    n_steps : int, default=25
        Number of network evaluations (a subset of the training timesteps).
    clip : float, optional
        Clamp each x0 prediction to ``[-clip, clip]``.
    generator : torch.Generator, optional
        CPU generator for the initial noise (drawn on CPU, then moved to ``device``).
    device : str or torch.device, default="cpu"
    dtype : torch dtype, default=torch.float32
    lower_order_final : bool, default=False
        Take the last step (to ``t = 0``) at first order, as diffusers does below 15
        steps. It removes the overshoot above, but on real windows it made the
        generated windows smoother still (a probe on the inner split,
        ``benchmarks/probe_lower_order_final.py``), so the default keeps it off.
    init : Tensor of shape ``shape``, optional
        Start windows (normalised): the trajectory starts from them noised to its
        first timestep ``t0``, ``sqrt(ab[t0]) init
        + sqrt(1 - ab[t0]) noise`` (SDEdit, Meng et al. 2022), instead of from pure noise.
    strength : float in (0, 1], default=1.0
        Where the trajectory starts, as a fraction of the schedule (:func:`ddim_timesteps`);
        needs ``init`` below 1. At 1 the start windows are lost in the noise.
    spacing : {"uniform", "quadratic", "logsnr"}, default="uniform"
        Where the ``n_steps`` passes fall on the schedule (:func:`sampling_timesteps`).

    Returns
    -------
    x0 : Tensor of shape ``shape``

    Examples
    --------
    >>> ab = cosine_alpha_bar(100)
    >>> out = dpmpp_2m_sample(lambda x, t: torch.zeros_like(x), (3, 2, 8), ab, n_steps=5)
    >>> out.shape, float(out.abs().max())
    (torch.Size([3, 2, 8]), 0.0)
    """
    ab = alpha_bar.detach().cpu().double()  # MPS has no float64
    log_alpha, log_sigma = 0.5 * ab.log(), 0.5 * (1 - ab).log()
    half_log_snr = log_alpha - log_sigma
    previous = {}  # the last step's x0 prediction and log-SNR step

    def update(x, x0_hat, t, s):
        h = float(half_log_snr[s] - half_log_snr[t])
        if not previous or (lower_order_final and s == 0):
            direction = x0_hat
        else:
            half_inverse_ratio = 0.5 * h / previous["h"]
            direction = (1 + half_inverse_ratio) * x0_hat - half_inverse_ratio * previous["x0"]
        previous.update(x0=x0_hat, h=h)
        sigma_ratio = math.exp(float(log_sigma[s] - log_sigma[t]))
        return sigma_ratio * x - math.exp(float(log_alpha[s])) * math.expm1(-h) * direction

    return _integrate(
        x0_fn,
        shape,
        alpha_bar,
        n_steps,
        clip,
        generator,
        device,
        dtype,
        update,
        init,
        strength,
        spacing,
    )


def _integrate(
    x0_fn,
    shape,
    alpha_bar,
    n_steps,
    clip,
    generator,
    device,
    dtype,
    update,
    init,
    strength,
    spacing,
):
    """The samplers' shared loop over :func:`sampling_timesteps`.

    Starts from CPU-drawn noise (or, with ``init``, from ``init`` noised to the first
    kept timestep), predicts x0 at each timestep (clamped to ``clip``), lets
    ``update(x, x0_hat, t, s)`` move ``x`` from ``t`` to the next timestep ``s``, and
    returns the x0 prediction at the last timestep.
    """
    check_strength(strength, "the sampler")
    if init is None and strength != 1.0:
        raise ValueError(
            f"strength={strength!r} < 1 starts from noised start windows; pass init= "
            "(windows of the batch's shape), or strength=1.0 for pure generation."
        )
    if init is not None and tuple(init.shape) != tuple(shape):
        raise ValueError(
            f"init must have the batch's shape {tuple(shape)}; got {tuple(init.shape)}."
        )
    steps = sampling_timesteps(alpha_bar, n_steps, strength, spacing).tolist()
    x = torch.randn(shape, generator=generator, dtype=dtype).to(device)
    if init is not None:
        x = q_sample(init.to(device=device, dtype=dtype), steps[0], alpha_bar, x)
    x0_hat = x
    for t, s in zip(steps, [*steps[1:], None], strict=True):
        x0_hat = x0_fn(x, torch.full((shape[0],), t, dtype=torch.long, device=device))
        if clip is not None:
            x0_hat = x0_hat.clamp(-clip, clip)
        if s is None:
            break
        x = update(x, x0_hat, t, s)
    return x0_hat
