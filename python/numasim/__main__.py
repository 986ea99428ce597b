"""``python -m numasim``: the numasim command line."""

import sys

from numasim.cli import main

sys.exit(main())
