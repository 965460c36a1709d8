"""`python -m madoguchi.agent ...`: the card agent without Django (same options as `madoguchi agent`)."""

from madoguchi.agent.cli import main

raise SystemExit(main())
