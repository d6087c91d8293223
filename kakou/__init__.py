"""kakou — edge-first customs checkpoint system."""

__version__ = "0.1.0"
