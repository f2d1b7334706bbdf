"""Where each page lives, so components can link to pages without spelling paths.

The page files sit in ``app_pages/``, not ``pages/``: Streamlit still treats a
``pages/`` folder next to app.py as a legacy multipage app until some session has run
``st.navigation``, so the first request after a server start that deep-links to a page
(``/data``, ``/train?run=...``) would run that page file on its own, without app.py's
frame and navigation, for every session of that server. Streamlit's guidance is to give
the folder another name.
"""

HOME = "app_pages/home.py"
DATA = "app_pages/data.py"
ARCHITECTURE = "app_pages/architecture.py"
TRAIN = "app_pages/train.py"
IMPORTANCE = "app_pages/importance.py"
ATTENTION = "app_pages/attention.py"
PREDICTIONS = "app_pages/predictions.py"
RUNS = "app_pages/runs.py"

# (path, title, icon, url path) in the order the sidebar shows them.
ALL = (
    (HOME, "Home", ":material/home:", "home"),
    (DATA, "Data", ":material/table_chart:", "data"),
    (ARCHITECTURE, "Architecture", ":material/account_tree:", "architecture"),
    (TRAIN, "Train", ":material/model_training:", "train"),
    (IMPORTANCE, "Module importance", ":material/bar_chart:", "importance"),
    (ATTENTION, "Token attention", ":material/grid_on:", "attention"),
    (PREDICTIONS, "Predictions", ":material/fact_check:", "predictions"),
    (RUNS, "Runs", ":material/history:", "runs"),
)
