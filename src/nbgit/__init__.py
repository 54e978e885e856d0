"""nbgit: Jupyter notebooks that live well in git."""

__version__ = "0.1.0"
