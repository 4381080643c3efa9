"""Entry point of ``python -m emulator`` (see ``emulator.server.cli``)."""

import sys

from emulator.server.cli import main

sys.exit(main())
