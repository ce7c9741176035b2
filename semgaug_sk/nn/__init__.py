"""Pure torch modules (no scikit-learn here): LSTM-FIN, CNN heads, encoder nets, the 1-D U-Net."""
