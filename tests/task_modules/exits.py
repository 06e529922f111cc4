"""A task module written as a script: it exits while it is imported."""

import sys

sys.exit("exits.py is a script: run it with python -m")
