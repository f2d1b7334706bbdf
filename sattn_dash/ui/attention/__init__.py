"""The attention page's Streamlit parts (the page script is ``sattn_dash/dashboard/app_pages/attention.py``)."""
