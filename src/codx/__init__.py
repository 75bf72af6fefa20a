"""codx: an open-source clinical assistant built on an explicit, calibrated diagnosis model."""

__version__ = "0.1.0"
