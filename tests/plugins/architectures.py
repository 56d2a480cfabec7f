"""An architecture plug-in: a two-layer perceptron (``features`` = its hidden layer)."""

from torch import nn

from strategies import ArchitectureSpec


class TinyMLP(nn.Module):
    spec = ArchitectureSpec("tiny-mlp", "flatten · fc 64 · ReLU · head", min_image_size=1)

    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, 64), nn.ReLU())
        self.head = nn.Linear(64, num_classes)
        self.feature_dim = 64

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))
