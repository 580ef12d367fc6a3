"""Lantai (兰台): an electronic-records archive for Chinese government bodies."""

__version__ = "0.1.0"
