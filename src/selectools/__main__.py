"""`python -m selectools`: the same as the `selectools` command."""

import sys

from .cli import main

sys.exit(main())
