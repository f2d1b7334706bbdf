"""How far to trust a prediction? Reliability, thresholds, residuals and conformal intervals."""
