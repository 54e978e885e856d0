"""`python -m nbgit`."""

import sys

from nbgit.cli import main

sys.exit(main())
