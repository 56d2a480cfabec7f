"""Victims: the model zoo, training presets, the training loop, and the per-attacker metrics of a trained victim."""
