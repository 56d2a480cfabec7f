"""Federated learning under edge-case backdoors ("Attack of the Tails", Wang et al., 2020)."""
