"""``python -m sattn_dash``: see ``sattn_dash.cli``."""

import sys

from sattn_dash.cli import main

if __name__ == "__main__":
    sys.exit(main())
