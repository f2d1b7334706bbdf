"""What would a simpler model have scored? linear and tree baselines (scikit-learn, LightGBM, CatBoost) and the model retrained without attention, on the same split and metrics."""
