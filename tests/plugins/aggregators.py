"""An aggregator plug-in: the coordinate-wise mean of the updates, each clipped to [-bound, bound]."""

from oracle.federated.aggregators import Aggregate
from strategies import ComponentSpec, ParamSpec


def clipped_mean(updates, weights, *, bound):
    return Aggregate(updates.clamp(-bound, bound).mean(dim=0), tuple(range(updates.shape[0])), {"bound": bound})


CLIPPED_MEAN = ComponentSpec(
    "clipped-mean", "coordinate-wise mean of updates clipped to [-bound, bound]",
    (ParamSpec("bound", "real", 0.01, 0.0, None, low_open=True, doc="per-coordinate clip"),),
    implementation=clipped_mean,
)
