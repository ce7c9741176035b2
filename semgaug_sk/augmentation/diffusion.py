"""Diffusion numerics for SASG-DA: noise schedule, x0 training loss, DDIM sampler.

Pure torch functions; the estimator in :mod:`semgaug_sk.augmentation.sasg`
holds the state. The model is parameterised to predict the clean window
``x0`` (not the noise), which suits short, low-dimensional sEMG windows and
lets a frequency-domain loss be applied to the prediction directly.

Notation: ``alpha_bar[t]`` is the cumulative signal fraction of step ``t``, so
``x_t = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * eps``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

__all__ = [
    "cosine_alpha_bar",
    "ddim_sample",
    "ddim_timesteps",
    "fourier_loss",
    "guided_x0",
    "q_sample",
    "x0_diffusion_loss",
]


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
    return _cosine_alpha_bar_cpu(int(n_timesteps), float(s)).to(device)


def q_sample(x0: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor):
    """Noise clean windows ``x0`` to step ``t``: ``sqrt(ab) x0 + sqrt(1 - ab) noise``.

    Examples
    --------
    >>> ab = cosine_alpha_bar(10)
    >>> q_sample(torch.ones(2, 1, 4), torch.tensor([0, 9]), ab, torch.zeros(2, 1, 4)).shape
    torch.Size([2, 1, 4])
    """
    ab = alpha_bar[t].view(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


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


def x0_diffusion_loss(
    denoiser: Callable,
    x0: torch.Tensor,
    cond: torch.Tensor,
    alpha_bar: torch.Tensor,
    *,
    cond_drop_prob: float = 0.1,
    fourier_weight: float = 0.1,
    fourier_norm: str = "l1",
    criterion: Callable | None = None,
    generator: torch.Generator | None = None,
):
    """Training loss of an x0-predicting conditional denoiser on one batch.

    Draws a uniform timestep and Gaussian noise per window, drops the condition
    of each window with probability ``cond_drop_prob`` (classifier-free
    guidance training), and returns ``MSE(x0_hat, x0) + fourier_weight *
    fourier_loss(x0_hat, x0)`` (the first term is ``criterion`` when given).

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
    cond_drop_prob : float, default=0.1
    fourier_weight : float, default=0.1
    fourier_norm : {"l1", "l2"}, default="l1"
    criterion : callable, optional
        ``criterion(x0_hat, x0)``, the data term; mean squared error when None.
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
    >>> loss, parts = x0_diffusion_loss(den, torch.ones(4, 2, 8), torch.zeros(4, 3),
    ...                                 cosine_alpha_bar(50))
    >>> round(float(parts["mse"]), 3)
    1.0
    """
    batch = x0.shape[0]
    device = x0.device
    draw_on = device if generator is None else "cpu"
    t = torch.randint(0, alpha_bar.shape[0], (batch,), device=draw_on, generator=generator)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=draw_on)
    drop = torch.rand(batch, generator=generator, device=draw_on) < cond_drop_prob
    t, noise, drop = t.to(device), noise.to(device), drop.to(device)
    x_t = q_sample(x0, t, alpha_bar, noise)
    x0_hat = denoiser(x_t, t, cond, drop)
    mse = F.mse_loss(x0_hat, x0) if criterion is None else criterion(x0_hat, x0)
    loss = mse
    four = torch.zeros((), device=device)
    if fourier_weight > 0:
        four = fourier_loss(x0_hat, x0, fourier_norm)
        loss = mse + fourier_weight * four
    return loss, {"mse": mse.detach(), "fourier": four.detach()}


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


def ddim_timesteps(n_timesteps: int, n_steps: int) -> torch.Tensor:
    """Decreasing, evenly spaced subset of ``n_steps`` timesteps, from ``T - 1`` down to 0.

    Examples
    --------
    >>> ddim_timesteps(500, 5).tolist()
    [499, 374, 250, 125, 0]
    """
    n_steps = min(int(n_steps), int(n_timesteps))
    if n_steps == 1:
        return torch.tensor([n_timesteps - 1])
    return torch.linspace(n_timesteps - 1, 0, n_steps).round().long()


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
    n_timesteps = alpha_bar.shape[0]
    steps = ddim_timesteps(n_timesteps, n_steps).tolist()
    x = torch.randn(shape, generator=generator, dtype=dtype).to(device)
    batch = shape[0]
    x0_hat = x
    for i, t in enumerate(steps):
        t_batch = torch.full((batch,), t, dtype=torch.long, device=device)
        x0_hat = x0_fn(x, t_batch)
        if clip is not None:
            x0_hat = x0_hat.clamp(-clip, clip)
        if i == len(steps) - 1:
            break
        ab_t = alpha_bar[t]
        ab_prev = alpha_bar[steps[i + 1]]
        eps = (x - ab_t.sqrt() * x0_hat) / (1 - ab_t).sqrt()
        sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).clamp(min=0).sqrt()
        x = ab_prev.sqrt() * x0_hat + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0:
            x = x + sigma * torch.randn(shape, generator=generator, dtype=dtype).to(device)
    return x0_hat
