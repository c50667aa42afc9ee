"""Labeling: simulated labelers (simulate.py) today; the labeling app for people joins here."""
