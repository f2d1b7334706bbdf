"""What does the model say about new rows? Score a table with a run (``predictor``), or
take the run elsewhere as an MLflow model (``mlflow_export``, ``mlflow_model``)."""
