"""Daily Papers: a self-hostable daily feed of trending research papers."""

__version__ = "0.1.0"
