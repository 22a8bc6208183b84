"""Sneakers Marketplace: a live bid/ask marketplace for limited sneakers."""
