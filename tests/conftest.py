"""Make tests/ importable (``from onnx_factory import ...``) and the hwgen package importable
without installing it."""
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _p in (_TESTS, _TESTS.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
