import sys

from madoguchi.outside.sim.cli import main
from madoguchi.pipes import reader_gone

try:
    code = main()
    sys.stdout.flush()  # a short table is still in the buffer: its write fails here
except BrokenPipeError:
    reader_gone()  # `python -m madoguchi.outside.sim accounts | head -3`
sys.exit(code)
