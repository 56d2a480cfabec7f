from .train import PRESETS, TrainPreset, get_preset  # noqa: F401  (temporary: moves here, torch-free)
