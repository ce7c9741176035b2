"""1-D U-Net with cross-attention to condition tokens, for window diffusion.

The denoiser of SASG-DA works on windows ``(n_channels, n_times)``. Windows can
be very short (20 samples for 200 ms at 100 Hz), so :class:`ConditionalUNet1d`
chooses its depth from ``n_times``: it halves the length only while the result
stays at least ``min_length`` samples long, and it upsamples back to the exact
skip length, so any window length works. A long window can first be folded into
patches (:func:`fold_patches`): ``patch_size`` consecutive samples of every channel
become channels of one position, so the first level works on a sequence
``patch_size`` times shorter, and the output is unfolded back to the window's length.

The condition reaches the network in two ways:

- cross-attention from every resolution level (and the bottleneck) to a short
  sequence of condition tokens, as in SASG-DA's semantic representation
  guidance;
- the mean condition token, added to the timestep embedding that modulates
  every residual block (FiLM), which gives a global conditioning path that
  trains quickly.

Condition tokens come from a conditioner: :class:`SemanticConditioner` splits a
(standardised) embedding vector into tokens, :class:`LabelConditioner` looks a
class up in a table. Both hold a learned *null* condition used for condition
dropout during training and for the unconditional branch of classifier-free
guidance.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from .encoder import group_count

__all__ = [
    "ConditionalDenoiser",
    "ConditionalUNet1d",
    "LabelConditioner",
    "PreparedContext",
    "SemanticConditioner",
    "fold_patches",
    "n_unet_levels",
    "patch_size_for",
    "unfold_patches",
    "timestep_embedding",
]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (integer or real) diffusion timesteps.

    Parameters
    ----------
    t : Tensor of shape (batch,)
        Timesteps.
    dim : int
        Embedding size.
    max_period : float, default=10000.0
        Longest period of the sinusoids.

    Returns
    -------
    emb : Tensor of shape (batch, dim)

    Examples
    --------
    >>> timestep_embedding(torch.tensor([0, 10]), 8).shape
    torch.Size([2, 8])
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def n_unet_levels(n_times: int, max_levels: int, min_length: int) -> int:
    """Number of 2x downsamplings that keep the length at least ``min_length``.

    Parameters
    ----------
    n_times : int
        Window length.
    max_levels : int
        Upper bound (``len(channel_mults) - 1``).
    min_length : int
        Shortest length allowed after downsampling.

    Returns
    -------
    n_levels : int

    Examples
    --------
    >>> n_unet_levels(20, 3, 8), n_unet_levels(52, 3, 8), n_unet_levels(400, 3, 8)
    (1, 2, 3)
    """
    levels, length = 0, int(n_times)
    # at least 2 positions per level: one position of one window has nothing to normalise
    while levels < max_levels and math.ceil(length / 2) >= max(min_length, 2):
        length = math.ceil(length / 2)
        levels += 1
    return levels


def patch_size_for(n_times: int, max_length, n_channels: int = 1, width=None) -> int:
    """Samples per patch that fold ``n_times`` samples into at most ``max_length`` positions.

    A patch of ``p`` samples puts ``n_channels * p`` values at one position, and the
    U-Net's first level carries ``width`` features per position. With ``width`` the
    patch is capped at ``width // n_channels`` samples (at least 1), so that folding
    never asks the first level to carry more values than it has features: windows with
    many channels are folded less, or not at all, and stay longer than ``max_length``.
    A folded window keeps at least 2 positions.

    Parameters
    ----------
    n_times : int
        Window length.
    max_length : int or None
        Longest sequence the network's first level should see; None never folds.
    n_channels : int, default=1
        Channels of the windows.
    width : int or None, default=None
        Features per position of the first level (``base_channels``); None: no cap.

    Returns
    -------
    patch_size : int
        1 (no folding) when the window is at most ``max_length`` long or ``max_length``
        is None.

    Examples
    --------
    >>> patch_size_for(52, 64), patch_size_for(200, 64), patch_size_for(400, 64)
    (1, 4, 7)
    >>> patch_size_for(400, 64, n_channels=12, width=32), patch_size_for(400, None)
    (2, 1)
    """
    if max_length is None:
        return 1
    patch = max(1, math.ceil(int(n_times) / int(max_length)))
    if width is not None:
        patch = min(patch, max(1, int(width) // int(n_channels)))
    # at least 2 positions: normalising one position of one window has nothing to normalise
    return min(patch, max(1, int(n_times) // 2))


def fold_patches(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Fold ``patch_size`` consecutive samples of every channel into channels (space to depth).

    The window is first padded at its end, by repeating its last sample, to a multiple
    of ``patch_size``. Channel ``c * patch_size + j`` of the result holds sample ``j`` of
    each patch of channel ``c``; :func:`unfold_patches` inverts it.

    Parameters
    ----------
    x : Tensor of shape (batch, channels, n_times)
    patch_size : int

    Returns
    -------
    folded : Tensor of shape (batch, channels * patch_size, ceil(n_times / patch_size))

    Examples
    --------
    >>> x = torch.arange(10.0).view(1, 2, 5)
    >>> fold_patches(x, 2)[0].tolist()
    [[0.0, 2.0, 4.0], [1.0, 3.0, 4.0], [5.0, 7.0, 9.0], [6.0, 8.0, 9.0]]
    >>> torch.equal(unfold_patches(fold_patches(x, 2), 2, 5), x)
    True
    """
    if patch_size == 1:
        return x
    batch, channels, n_times = x.shape
    length = math.ceil(n_times / patch_size)
    if length * patch_size != n_times:
        x = F.pad(x, (0, length * patch_size - n_times), mode="replicate")
    x = x.view(batch, channels, length, patch_size).transpose(2, 3)
    return x.reshape(batch, channels * patch_size, length)


def unfold_patches(x: torch.Tensor, patch_size: int, n_times: int) -> torch.Tensor:
    """Inverse of :func:`fold_patches`: the first ``n_times`` samples of the unfolded window.

    Parameters
    ----------
    x : Tensor of shape (batch, channels * patch_size, length)
    patch_size : int
    n_times : int
        Length of the window before folding (at most ``length * patch_size``).

    Returns
    -------
    window : Tensor of shape (batch, channels, n_times)

    Examples
    --------
    >>> unfold_patches(torch.arange(6.0).view(1, 2, 3), 2, 5)[0].tolist()
    [[0.0, 3.0, 1.0, 4.0, 2.0]]
    """
    if patch_size == 1:
        return x
    batch, folded, length = x.shape
    x = x.view(batch, folded // patch_size, patch_size, length).transpose(2, 3)
    return x.reshape(batch, folded // patch_size, length * patch_size)[..., :n_times]


class _ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, with FiLM (scale, shift) from the embedding."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(group_count(in_channels), in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * out_channels)
        self.norm2 = nn.GroupNorm(group_count(out_channels), out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, padding=1)
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, 1)
        )

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(emb).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return h + self.skip(x)


class PreparedContext(NamedTuple):
    """What :meth:`ConditionalUNet1d.prepare_context` computes from condition tokens.

    Parameters
    ----------
    embedding : Tensor of shape (batch, emb_dim)
        The ``embedding`` field.
    attention : dict
        The ``attention`` field.

    Attributes
    ----------
    embedding : Tensor of shape (batch, emb_dim)
        The context's contribution to the embedding that modulates every residual block.
    attention : dict
        Each cross-attention block's :meth:`_CrossAttention.project_context` output.
    """

    embedding: torch.Tensor
    attention: dict


class _CrossAttention(nn.Module):
    """Residual multi-head attention from feature positions (queries) to condition tokens.

    The weights live in an :class:`torch.nn.MultiheadAttention` (so stored models
    load unchanged), but the forward pass folds the projections into the few
    condition tokens. With ``n`` positions, ``T`` tokens, width ``C``, head ``h``
    of size ``d``, normalised features ``z`` (C x n), keys ``k_h`` and values
    ``v_h`` (T x d), the generic module computes
    ``softmax((W_q,h z + b_q,h)^T k_h^T / sqrt(d)) v_h`` per head and then
    ``W_o [heads] + b_o``. By associativity this equals

    - scores ``S_h = (k_h W_q,h / sqrt(d)) z + (k_h b_q,h / sqrt(d))`` (T x n),
    - output ``sum_h (W_o,h v_h^T) softmax_T(S_h) + b_o`` (C x n),

    where ``W_q,h`` (d x C) and ``W_o,h`` (C x d) are head ``h``'s slices. The
    per-window matrices ``k_h W_q,h`` and ``W_o,h v_h^T`` cost ``T C^2`` each,
    against ``n C^2`` for projecting every position, and the whole block runs in
    two batched matrix products on the (channels, times) layout: no transposes,
    and about half the arithmetic of the generic module when ``T`` is much
    smaller than ``n``. The result equals the generic module's up to float
    rounding (tested).
    """

    def __init__(self, channels: int, context_dim: int, n_heads: int):
        super().__init__()
        heads = max(h for h in range(1, n_heads + 1) if channels % h == 0)
        self.norm = nn.GroupNorm(group_count(channels), channels)
        self.attn = nn.MultiheadAttention(
            channels, heads, kdim=context_dim, vdim=context_dim, batch_first=True
        )

    def _projections(self):
        a = self.attn
        width = a.embed_dim
        if a._qkv_same_embed_dim:
            w_q, w_kv = a.in_proj_weight[:width], a.in_proj_weight[width:]
        else:
            w_q, w_kv = a.q_proj_weight, torch.cat([a.k_proj_weight, a.v_proj_weight])
        return w_q, a.in_proj_bias[:width], w_kv, a.in_proj_bias[width:]

    def project_context(self, context: torch.Tensor) -> tuple:
        """The per-window matrices that depend on the condition tokens only.

        Returns ``(query_bias, query_keys, value_out)`` of shapes
        ``(batch, heads * tokens, 1)``, ``(batch, heads * tokens, C)`` and
        ``(batch, C, heads * tokens)``, scaled for the scores. They do not change
        over the sampling steps of one batch, so generation computes them once.
        """
        batch, n_tokens, _ = context.shape
        width, heads = self.attn.embed_dim, self.attn.num_heads
        head_dim = width // heads
        scale = head_dim**-0.5
        w_q, b_q, w_kv, b_kv = self._projections()
        kv = F.linear(context, w_kv, b_kv).view(batch, n_tokens, 2, heads, head_dim)
        k, v = kv.unbind(2)  # (batch, tokens, heads, head_dim)
        query_keys = torch.einsum("bthd,hdc->bhtc", k, w_q.view(heads, head_dim, width))
        query_bias = torch.einsum("bthd,hd->bht", k, b_q.view(heads, head_dim))
        w_o = self.attn.out_proj.weight.view(width, heads, head_dim)
        value_out = torch.einsum("bthd,ohd->boht", v, w_o).reshape(batch, width, -1)
        return (
            (scale * query_bias).reshape(batch, heads * n_tokens, 1),
            (scale * query_keys).reshape(batch, heads * n_tokens, width),
            value_out,
        )

    def forward(self, x: torch.Tensor, context) -> torch.Tensor:
        """Attend from ``x`` to ``context``: tokens, or :meth:`project_context`'s output."""
        if isinstance(context, torch.Tensor):
            context = self.project_context(context)
        query_bias, query_keys, value_out = context
        batch, width, _ = x.shape
        scores = torch.baddbmm(query_bias, query_keys, self.norm(x))
        probs = scores.view(batch, self.attn.num_heads, -1, scores.shape[-1]).softmax(dim=2)
        out = torch.baddbmm(
            self.attn.out_proj.bias.view(1, width, 1),
            value_out,
            probs.reshape(batch, query_keys.shape[1], -1),
        )
        return x + out


class ConditionalUNet1d(nn.Module):
    """1-D U-Net over (channels, times) with cross-attention to condition tokens.

    Parameters
    ----------
    in_channels : int
        Channels of the windows (electrodes).
    n_times : int
        Window length; with ``patch_size``, sets the depth (see :func:`n_unet_levels`).
    context_dim : int
        Width of the condition tokens.
    base_channels : int, default=32
        Width of the first level; level ``i`` has ``base_channels * channel_mults[i]``.
    channel_mults : tuple of int, default=(1, 2, 2)
        Width multipliers per level; its length bounds the depth.
    n_res_blocks : int, default=1
        Residual blocks per level on the way down (one per level on the way up).
    n_heads : int, default=4
        Attention heads (reduced to a divisor of the level width when needed).
    min_length : int, default=8
        Shortest length the features may be downsampled to.
    dropout : float, default=0.0
        Dropout inside residual blocks.
    patch_size : int, default=1
        Samples per patch: the network folds ``patch_size`` consecutive samples of every
        channel into channels (:func:`fold_patches`) before its first level and unfolds
        its output, so its levels work on ``ceil(n_times / patch_size)`` positions. At 1
        the network is the plain U-Net (the same modules and weights).

    Examples
    --------
    >>> net = ConditionalUNet1d(in_channels=3, n_times=20, context_dim=16, base_channels=8)
    >>> x, t, ctx = torch.zeros(2, 3, 20), torch.tensor([1, 5]), torch.zeros(2, 4, 16)
    >>> net(x, t, ctx).shape, net.n_levels
    (torch.Size([2, 3, 20]), 1)
    >>> folded = ConditionalUNet1d(3, 203, 16, base_channels=8, patch_size=4)
    >>> folded(torch.zeros(2, 3, 203), t, ctx).shape, folded.n_levels
    (torch.Size([2, 3, 203]), 2)
    """

    #: Networks pickled before folding existed have no instance value: they never folded.
    patch_size = 1

    def __init__(
        self,
        in_channels: int,
        n_times: int,
        context_dim: int,
        base_channels: int = 32,
        channel_mults: tuple = (1, 2, 2),
        n_res_blocks: int = 1,
        n_heads: int = 4,
        min_length: int = 8,
        dropout: float = 0.0,
        patch_size: int = 1,
    ):
        super().__init__()
        self.patch_size = int(patch_size)
        length = math.ceil(n_times / self.patch_size)
        self.n_levels = n_unet_levels(length, len(channel_mults) - 1, min_length)
        widths = [base_channels * m for m in channel_mults[: self.n_levels + 1]]
        emb_dim = 4 * base_channels
        self.time_dim = base_channels
        self.time_mlp = nn.Sequential(
            nn.Linear(base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        self.context_mlp = nn.Sequential(nn.Linear(context_dim, emb_dim), nn.SiLU())
        self.emb_out = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv1d(in_channels * self.patch_size, widths[0], 3, padding=1)

        self.down = nn.ModuleList()
        skip_widths = []
        width = widths[0]
        for level, level_width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(n_res_blocks):
                blocks.append(_ResBlock(width, level_width, emb_dim, dropout))
                blocks.append(_CrossAttention(level_width, context_dim, n_heads))
                width = level_width
            down = (
                nn.Conv1d(width, width, 3, stride=2, padding=1)
                if level < len(widths) - 1
                else nn.Identity()
            )
            self.down.append(nn.ModuleDict({"blocks": blocks, "down": down}))
            skip_widths.append(width)

        self.mid = nn.ModuleList(
            [
                _ResBlock(width, width, emb_dim, dropout),
                _CrossAttention(width, context_dim, n_heads),
                _ResBlock(width, width, emb_dim, dropout),
            ]
        )

        self.up = nn.ModuleList()
        for level in reversed(range(len(widths))):
            level_width = widths[level]
            blocks = nn.ModuleList(
                [
                    _ResBlock(width + skip_widths[level], level_width, emb_dim, dropout),
                    _CrossAttention(level_width, context_dim, n_heads),
                ]
            )
            width = level_width
            self.up.append(blocks)

        self.out = nn.Sequential(
            nn.GroupNorm(group_count(width), width),
            nn.SiLU(),
            nn.Conv1d(width, in_channels * self.patch_size, 3, padding=1),
        )

    def prepare_context(self, context: torch.Tensor) -> PreparedContext:
        """Everything the network computes from the condition tokens alone.

        A sampler calls it once per batch and passes the result to every step's
        :meth:`forward` in place of the tokens: the same outputs, without
        recomputing the context embedding and each attention block's
        projections at every step.

        Parameters
        ----------
        context : Tensor of shape (batch, n_tokens, context_dim)

        Returns
        -------
        prepared : PreparedContext

        Examples
        --------
        >>> net = ConditionalUNet1d(in_channels=3, n_times=20, context_dim=16, base_channels=8)
        >>> x, t, ctx = torch.randn(2, 3, 20), torch.tensor([1, 5]), torch.randn(2, 4, 16)
        >>> torch.allclose(net(x, t, net.prepare_context(ctx)), net(x, t, ctx))
        True
        """
        return PreparedContext(
            self.context_mlp(context.mean(dim=1)),
            {
                block: block.project_context(context)
                for block in self.modules()
                if isinstance(block, _CrossAttention)
            },
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, context) -> torch.Tensor:
        """Predict the clean window from the noisy one.

        Parameters
        ----------
        x : Tensor of shape (batch, in_channels, n_times)
            Noisy windows.
        t : Tensor of shape (batch,)
            Diffusion timesteps.
        context : Tensor of shape (batch, n_tokens, context_dim) or PreparedContext
            Condition tokens, or their :meth:`prepare_context`.

        Returns
        -------
        out : Tensor of shape (batch, in_channels, n_times)
        """
        if isinstance(context, torch.Tensor):
            context = self.prepare_context(context)
        emb = self.time_mlp(timestep_embedding(t, self.time_dim))
        emb = self.emb_out(emb + context.embedding)
        attention = context.attention
        n_times = x.shape[-1]
        h = self.stem(fold_patches(x, self.patch_size))
        skips = []
        for level in self.down:
            for block in level["blocks"]:
                h = block(h, emb) if isinstance(block, _ResBlock) else block(h, attention[block])
            skips.append(h)
            h = level["down"](h)
        for block in self.mid:
            h = block(h, emb) if isinstance(block, _ResBlock) else block(h, attention[block])
        for blocks in self.up:
            skip = skips.pop()
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, size=skip.shape[-1], mode="nearest")
            h = torch.cat([h, skip], dim=1)
            h = blocks[1](blocks[0](h, emb), attention[blocks[1]])
        return unfold_patches(self.out(h), self.patch_size, n_times)


def _check_token_dim(token_dim, who):
    """Refuse tokens too narrow for their LayerNorm: 1 value normalises to a constant (no
    conditioning at all), 2 to a sign."""
    if token_dim < 3:
        raise ValueError(
            f"{who}: token_dim must be at least 3; got {token_dim}. The tokens are "
            "layer-normalised, which maps one value to a constant (the model would ignore "
            "its condition) and two to +-1."
        )


class SemanticConditioner(nn.Module):
    """Turn a condition vector into ``n_tokens`` tokens, with a learned null condition.

    The vector (a standardised encoder embedding) is projected linearly to
    ``n_tokens * token_dim`` values and split into tokens, each with a learned
    position offset, then layer-normalised.

    Parameters
    ----------
    cond_dim : int
        Size of the condition vector.
    n_tokens : int, default=4
        Number of condition tokens for cross-attention.
    token_dim : int, default=64
        Width of each token.

    Examples
    --------
    >>> cond = SemanticConditioner(cond_dim=8, n_tokens=2, token_dim=4)
    >>> cond(torch.zeros(3, 8), drop_mask=torch.tensor([False, True, False])).shape
    torch.Size([3, 2, 4])
    """

    def __init__(self, cond_dim: int, n_tokens: int = 4, token_dim: int = 64):
        super().__init__()
        _check_token_dim(token_dim, "SemanticConditioner")
        self.n_tokens, self.token_dim = n_tokens, token_dim
        self.proj = nn.Linear(cond_dim, n_tokens * token_dim)
        self.position = nn.Parameter(torch.zeros(n_tokens, token_dim))
        self.null = nn.Parameter(torch.randn(n_tokens, token_dim) * 0.02)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, cond: torch.Tensor, drop_mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.proj(cond).view(-1, self.n_tokens, self.token_dim) + self.position
        if drop_mask is not None:
            tokens = torch.where(drop_mask.view(-1, 1, 1), self.null.expand_as(tokens), tokens)
        return self.norm(tokens)


class LabelConditioner(nn.Module):
    """Learned class embedding split into tokens; index ``n_classes`` is the null condition.

    Parameters
    ----------
    n_classes : int
        Number of classes (integer codes ``0 .. n_classes - 1``).
    n_tokens : int, default=4
        Number of condition tokens.
    token_dim : int, default=64
        Width of each token.

    Examples
    --------
    >>> cond = LabelConditioner(n_classes=3, n_tokens=2, token_dim=4)
    >>> cond(torch.tensor([0, 2])).shape
    torch.Size([2, 2, 4])
    """

    def __init__(self, n_classes: int, n_tokens: int = 4, token_dim: int = 64):
        super().__init__()
        _check_token_dim(token_dim, "LabelConditioner")
        self.n_classes, self.n_tokens, self.token_dim = n_classes, n_tokens, token_dim
        self.table = nn.Embedding(n_classes + 1, n_tokens * token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, cond: torch.Tensor, drop_mask: torch.Tensor | None = None) -> torch.Tensor:
        index = cond.long()
        if drop_mask is not None:
            index = torch.where(drop_mask, torch.full_like(index, self.n_classes), index)
        return self.norm(self.table(index).view(-1, self.n_tokens, self.token_dim))


class ConditionalDenoiser(nn.Module):
    """A conditioner followed by a U-Net: ``forward(x_t, t, cond, drop_mask)`` -> x0 estimate.

    Parameters
    ----------
    unet : ConditionalUNet1d
        The denoising network.
    conditioner : SemanticConditioner or LabelConditioner
        Maps conditions (vectors or class codes) to tokens.

    Examples
    --------
    >>> unet = ConditionalUNet1d(in_channels=2, n_times=16, context_dim=8, base_channels=8)
    >>> den = ConditionalDenoiser(unet, SemanticConditioner(cond_dim=5, n_tokens=2, token_dim=8))
    >>> den(torch.zeros(4, 2, 16), torch.zeros(4, dtype=torch.long), torch.zeros(4, 5)).shape
    torch.Size([4, 2, 16])
    """

    def __init__(self, unet: ConditionalUNet1d, conditioner: nn.Module):
        super().__init__()
        self.unet = unet
        self.conditioner = conditioner

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: torch.Tensor,
        drop_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.unet(x_t, t, self.conditioner(cond, drop_mask))
