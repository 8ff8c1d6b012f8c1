"""Where the repository is: the one definition every test, benchmark and dev tool uses."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
