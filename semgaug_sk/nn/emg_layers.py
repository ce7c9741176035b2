"""EMG-specific layers shared by the library's networks.

- :func:`log_energy`: square, average over time, take the log: the learned analogue of
  the log-RMS and log-variance features that make LDA strong on sEMG.
- :class:`WindowGain`: divide each window by its RMS over channels and time and return
  the log-RMS, so a gain common to all electrodes moves one input.
- :class:`ChannelGainJitter`: random per-channel gains while training, for robustness
  to electrode gain (electrode shift, sweat, another session).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ChannelGainJitter", "WindowGain", "log_energy"]

_EPS = 1e-6


def log_energy(h: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log(mean(h**2))`` over ``dim``: log-energy pooling.

    Parameters
    ----------
    h : Tensor
        Features, e.g. of shape (batch, channels, times).
    dim : int, default=-1
        Axis averaged over (time).

    Returns
    -------
    log_energy : Tensor
        ``log(mean(h**2, dim) + 1e-6)``: the shape of ``h`` without ``dim``.

    Examples
    --------
    >>> log_energy(torch.ones(2, 3, 5)).shape
    torch.Size([2, 3])
    """
    return torch.log(torch.mean(h * h, dim=dim) + _EPS)


class WindowGain(nn.Module):
    """Divide each window by its RMS over channels and time; return it and the log-RMS.

    ``forward(x)`` takes windows of shape (batch, channels, times) and returns
    ``(x / rms, log(rms))``, of shapes (batch, channels, times) and (batch, 1), where
    ``rms = sqrt(mean(x**2) + 1e-6)`` per window.

    Parameters
    ----------
    *args, **kwargs
        None: the constructor is :class:`torch.nn.Module`'s, and ``WindowGain()`` takes
        no arguments.

    Examples
    --------
    >>> x = torch.randn(4, 3, 10)
    >>> z, log_rms = WindowGain()(5.0 * x)
    >>> torch.allclose(z, WindowGain()(x)[0], atol=1e-4), log_rms.shape
    (True, torch.Size([4, 1]))
    """

    def forward(self, x: torch.Tensor):
        rms = torch.sqrt(torch.mean(x * x, dim=(1, 2), keepdim=True) + _EPS)
        return x / rms, torch.log(rms).reshape(len(x), 1)


class ChannelGainJitter(nn.Module):
    """Random per-window, per-channel gains ``exp(N(0, sigma^2))`` while training.

    Parameters
    ----------
    sigma : float, default=0.1
        Standard deviation of the log-gain (0.1 is about +-10% per electrode).

    Examples
    --------
    >>> jitter = ChannelGainJitter(0.2).eval()
    >>> x = torch.randn(2, 3, 8)
    >>> torch.equal(jitter(x), x)
    True
    """

    def __init__(self, sigma: float = 0.1):
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.sigma == 0:
            return x
        gains = torch.exp(self.sigma * torch.randn(x.shape[0], x.shape[1], 1, device=x.device))
        return x * gains.to(x.dtype)
