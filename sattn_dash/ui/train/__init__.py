"""The train page's Streamlit parts (the page script is ``sattn_dash/dashboard/app_pages/train.py``)."""
