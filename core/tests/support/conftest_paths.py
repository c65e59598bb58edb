"""Where the core test support modules live."""

from pathlib import Path

SUPPORT = Path(__file__).parent
