"""An IBL-style curriculum for the two-alternative visual choice task (see ``ibl_2afc.curriculum``)."""

__version__ = "1.1.0"
