import sys

from madoguchi.outside.sim.cli import main

sys.exit(main())
