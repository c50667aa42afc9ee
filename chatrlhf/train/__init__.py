"""Training stages: one file each, sharing train/common.py."""
