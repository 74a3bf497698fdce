"""``python -m eventflow_local up|invoke|start-api|...`` (see ``eventflow_local.cli.main``; plugins add commands)."""

import sys

from eventflow_local.cli.main import main

sys.exit(main())
