"""``python -m armstft``: same as the ``armstft`` console script."""

import sys

from armstft.cli import main

sys.exit(main())
