"""A trigger plug-in: horizontal stripes of density eps, one phase per attacker (seeded by its index)."""

import numpy as np

from strategies import TriggerSpec, Triggers


def stripes(seeds, eps, image_shape) -> Triggers:
    """Attacker k's mask: every row r with (r + seeds[k]) % period == 0, period = round(1 / eps[k]); white."""
    h, w, c = image_shape
    n = len(seeds)
    masks = np.zeros((n, h, w), np.uint8)
    for k, (seed, e) in enumerate(zip(seeds, eps)):
        period = max(1, int(round(1 / max(float(e), 1e-9))))
        masks[k, [r for r in range(h) if (r + int(seed)) % period == 0], :] = 1
    patterns = masks[..., None].astype(np.float64).repeat(c, axis=3) * 255.0
    return Triggers(masks, patterns)


STRIPES = TriggerSpec("stripes", "white horizontal stripes of density eps, phase = the attacker's seed", stripes)
