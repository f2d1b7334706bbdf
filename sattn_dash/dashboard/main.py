"""The dashboard's entry script: `sattn-dash app` runs this file with `streamlit run`, and
the checkout's root app.py calls :func:`main`. Routes over the pages in app_pages/ (see
sattn_dash/ui/shared/pages.py for why the folder is not named pages/)."""

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.ui.shared import auth, pages, sidebar, work
from sattn_dash.ui.shared.components import user_error
from sattn_dash.ui.shared.keras_guard import keep_keras_between_script_runs


def main() -> None:
    keep_keras_between_script_runs()
    st.set_page_config(page_title="sattn-dash", page_icon=":material/hub:", layout="wide")
    if not auth.signed_in():  # sign-in configured: every address shows the sign-in page
        st.navigation([st.Page(auth.render_sign_in, title="Sign in", url_path="sign-in")]).run()
        return
    current = st.navigation(
        [
            st.Page(path, title=title, icon=icon, url_path=url, default=path == pages.HOME)
            for path, title, icon, url in pages.ALL
        ]
    )
    work.restore()
    sidebar.render_active_runs()
    auth.render_account()
    try:
        current.run()
    except UserError as error:  # a page that let one through (a damaged file, say)
        user_error(error)
    finally:
        work.save()  # also when a page ends early with st.stop()


if __name__ == "__main__":
    main()
