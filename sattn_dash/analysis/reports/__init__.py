"""One run, or several side by side: the analysis of a stored run (``*_for_run``), its whole report, and the tidy tables that compare runs."""
