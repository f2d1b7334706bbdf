"""sattn-dash from a checkout: `streamlit run app.py`. The dashboard lives in the package
(sattn_dash/dashboard/, pages in sattn_dash/dashboard/app_pages/) so that `pip install .`
ships it; `sattn-dash app` runs the same function from any folder."""

from sattn_dash.dashboard.main import main

main()
