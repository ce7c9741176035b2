"""Losses of the library's networks (pure torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ClassWeightedCrossEntropy"]


class ClassWeightedCrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy with label smoothing in which a class weight weighs each window.

    Window ``i`` of class ``y_i`` contributes ``weight[y_i] * CE_smooth(logits_i, y_i)``,
    and the sum is divided by the number of windows: a class weight acts as a per-window
    sample weight, as in scikit-learn. :class:`torch.nn.CrossEntropyLoss` with ``weight``
    differs in two ways that matter with few, heavily weighted classes: it weighs the
    smoothing term of every class by that class's weight, so the best prediction for a
    window of a common class leans towards a heavily weighted one, and it divides by the
    batch's sum of weights, which is 0 (a NaN loss) for a batch of zero-weight windows.

    Parameters
    ----------
    weight : Tensor of shape (n_classes,)
        Weight of each class (non-negative). Kept as a buffer, so it moves with ``.to()``.
    label_smoothing : float, default=0.0
        As in :func:`torch.nn.functional.cross_entropy`.

    Notes
    -----
    A subclass of :class:`torch.nn.CrossEntropyLoss`, so that skorch still turns the
    network's outputs into probabilities with a softmax in ``predict_proba``.

    Examples
    --------
    >>> loss = ClassWeightedCrossEntropy(torch.tensor([1.0, 3.0]), label_smoothing=0.1)
    >>> logits, y = torch.zeros(2, 2), torch.tensor([0, 1])
    >>> round(float(loss(logits, y)), 4)  # (1 + 3) / 2 * log(2)
    1.3863
    """

    def __init__(self, weight, label_smoothing=0.0):
        super().__init__(
            weight=torch.as_tensor(weight, dtype=torch.float32),
            label_smoothing=float(label_smoothing),
        )

    def forward(self, logits, target):
        per_window = F.cross_entropy(
            logits, target, reduction="none", label_smoothing=self.label_smoothing
        )
        return (per_window * self.weight.to(per_window.dtype)[target]).mean()
