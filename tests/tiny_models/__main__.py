"""``python -m tests.tiny_models DIR``: build the tiny models and their config.yaml into DIR."""

import sys

from tests.tiny_models import main

sys.exit(main())
