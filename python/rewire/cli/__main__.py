"""`python -m rewire.cli`: the rewire command line."""
import sys

from . import main

sys.exit(main())
