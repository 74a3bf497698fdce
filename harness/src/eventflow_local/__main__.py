"""``python -m eventflow_local up|invoke|start-api|demo|seed`` (see ``eventflow_local.cli.main``)."""

import sys

from eventflow_local.cli.main import main

sys.exit(main())
