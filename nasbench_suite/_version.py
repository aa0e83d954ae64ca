"""The package version, on the ground floor: writers stamp files without importing the front door."""

__version__ = "0.1.0"
