"""The runs page's Streamlit parts (the page script is ``sattn_dash/dashboard/app_pages/runs.py``)."""
