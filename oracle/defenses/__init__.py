"""Defenses: augmentative ones (what training sees) and removal filters (what is flagged and removed before retraining)."""
