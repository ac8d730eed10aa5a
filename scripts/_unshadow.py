"""Import first in scripts that use the ``search`` package.

``python scripts/X.py`` puts scripts/ first on sys.path, where scripts/search.py would shadow the
``search`` package; this drops that entry (the scripts import nothing from each other).
"""

import sys
from pathlib import Path

_SCRIPTS = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _SCRIPTS]
