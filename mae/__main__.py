"""``python -m mae`` runs the command line."""

import sys

from mae.cli import main

sys.exit(main())
