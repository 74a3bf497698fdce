"""``python -m local up|invoke|start-api|demo|seed`` (see ``local.cli``)."""

import sys

from .cli import main

sys.exit(main())
