"""``python -m rpc_cluster ...`` is ``rpc-cluster ...``."""

import sys

from .tools.cli import main

sys.exit(main())
