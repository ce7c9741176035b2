"""Pure torch modules (no scikit-learn here): LSTM-FIN, CNN heads, encoder nets, the 1-D U-Net."""

from .fin import FeatureImitatorNet, FeatureLSTM
from .heads import FeatureMapCNN, FINNetwork

__all__ = [
    "FeatureImitatorNet",
    "FeatureLSTM",
    "FeatureMapCNN",
    "FINNetwork",
]
