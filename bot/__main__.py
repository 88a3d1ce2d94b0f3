"""`python -m bot` is `chatops`."""

import gc

from bot.cli import main

code = main()
gc.freeze()  # the process ends here: its exit need not walk every object it made (most of a second on 2 cores)
raise SystemExit(code)
