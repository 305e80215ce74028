"""``python -m bench.soak [--minutes 3] [--seed 1]``: see the package's docstring."""

from . import __doc__ as description
from .run import main

if __name__ == "__main__":
    main((description or "").split("\n\n")[0])
