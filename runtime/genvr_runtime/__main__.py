"""`python -m genvr_runtime ...` = the `genvr` console command."""

import sys

from genvr_runtime._entry import main

sys.exit(main())
