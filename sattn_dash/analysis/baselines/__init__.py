"""What would a simpler model have scored? scikit-learn baselines and the model retrained without attention, on the same split and metrics."""
