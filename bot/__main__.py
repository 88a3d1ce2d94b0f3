"""`python -m bot` is `chatops`."""

from bot.cli import main

raise SystemExit(main())
