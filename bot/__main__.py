"""`python -m bot run ...`: the same as the `facilitator` command."""

import sys

from bot.cli import main

sys.exit(main())
