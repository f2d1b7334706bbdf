"""The Streamlit parts of the dashboard: one package per page (``data``, ``architecture``,
``train``, ``importance``, ``attention``, ``predictions``, ``runs``, ``search``, ``home``;
the page scripts themselves are ``sattn_dash/dashboard/app_pages/``) and ``shared`` for
what several pages use."""
