"""sattn-dash entry point: `streamlit run app.py`. Routes over the pages in app_pages/
(see sattn_dash/ui/pages.py for why the folder is not named pages/)."""

import streamlit as st

from sattn_dash.ui import pages, sidebar, work

st.set_page_config(page_title="sattn-dash", page_icon=":material/hub:", layout="wide")

current = st.navigation(
    [
        st.Page(path, title=title, icon=icon, url_path=url, default=path == pages.HOME)
        for path, title, icon, url in pages.ALL
    ]
)
work.restore()
sidebar.render_active_runs()
try:
    current.run()
finally:
    work.save()  # also when a page ends early with st.stop()
