"""The architecture page's Streamlit parts (the page script is ``sattn_dash/dashboard/app_pages/architecture.py``)."""
