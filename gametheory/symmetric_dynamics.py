"""Replicator dynamics and regret minimisation on a role-symmetric game's payoff functions.

Attackers play a symmetric mixture ``σ ∈ Δ_K``, the defender ``τ ∈ Δ_D``;
``dev_s(σ, τ)`` is the payoff of one attacker deviating to ``s`` and
``v_d(σ)`` the defender's payoff of pure ``d``
(:mod:`gametheory.symmetric`). Each role's *gain* is what its best pure
strategy earns above its mixture, ``max_s dev_s − σ·dev`` and
``max_d v_d − τ·v``; ``(σ, τ)`` is an equilibrium iff both are 0
(:class:`Regret`). The functions here search for such points given the
payoff functions (:func:`replicator_dynamics`) or the dense payoff arrays
(:func:`regret_objective`, :func:`minimize_regret`); both find equilibria,
neither promises all of them. :func:`default_starts` are the starting
points :meth:`~gametheory.symmetric.RoleSymmetricGame.find_equilibria` uses.

This module uses numpy and scipy only.

References
----------
.. [TJ78] P. D. Taylor and L. B. Jonker, "Evolutionarily stable strategies
   and game dynamics", Mathematical Biosciences 40 (1978): replicator dynamics.
.. [HS98] J. Hofbauer and K. Sigmund, *Evolutionary Games and Population
   Dynamics*, CUP 1998, ch. 7 and 10: rest points of the replicator include
   every Nash equilibrium, but only stable ones attract; it may cycle.
.. [Kra88] D. Kraft, "A software package for sequential quadratic
   programming", DFVLR-FB 88-28 (1988): SLSQP, used by ``regret-min``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy.optimize import minimize

from .arguments import check_int, check_tol
from .count_profiles import log_multinomial, plus_index, profile_index

__all__ = [
    "DEFAULT_SEED",
    "DynamicsResult",
    "Regret",
    "default_starts",
    "best_reply_gain",
    "minimize_regret",
    "regret_objective",
    "replicator_dynamics",
    "replicator_step",
]

#: The project's seed convention (DESIGN.md).
DEFAULT_SEED = 3407
#: SLSQP's ``ftol`` in :func:`minimize_regret`: its objective is a sum of
#: squared range-scaled gains, so regrets of ~1e-12 need it to reach ~1e-24.
_SLSQP_FTOL = 1e-24

#: ``(σ, τ) ↦ (dev, spread)``: every ``dev_s(σ, τ)``, and the range of the payoffs it used.
DeviationFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]
#: ``σ ↦ (v, spread)``: every ``v_d(σ)``, and the range of the payoffs it used.
DefenderFn = Callable[[np.ndarray], tuple[np.ndarray, float]]


class Regret(NamedTuple):
    """Regrets of the two roles (each ≥ 0): the most a role gains by deviating."""

    attacker: float
    defender: float

    @property
    def max(self) -> float:
        """The larger of the two; a profile or mixture is an ε-equilibrium iff ``max ≤ ε``."""
        return max(self.attacker, self.defender)


@dataclass(frozen=True, eq=False)
class DynamicsResult:
    """Where :meth:`~gametheory.symmetric.RoleSymmetricGame.replicator_dynamics` stopped."""

    sigma: np.ndarray
    tau: np.ndarray
    regret: Regret
    steps: int
    converged: bool


def best_reply_gain(x: np.ndarray, f: np.ndarray) -> float:
    """``max_i f_i − x·f``, clipped at 0 (ties give exactly 0, never −1e-17)."""
    return max(0.0, float(f.max() - x @ f))


def replicator_step(x: np.ndarray, payoffs: np.ndarray, dt: float) -> np.ndarray:
    """One Euler step of the replicator equation ``ẋ_i = x_i (f_i − x·f)`` [TJ78]_.

    ``x + dt · x ⊙ (f − x·f)``, clipped at 0 and renormalised. With ``dt``
    at most ``1 / (max f − min f)`` every entry stays non-negative and the
    step is exact up to rounding (Σ x_i (f_i − x·f) = 0).
    """
    x = np.asarray(x, dtype=float)
    f = np.asarray(payoffs, dtype=float)
    x = x + dt * x * (f - x @ f)
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def replicator_dynamics(
    deviation: DeviationFn, defender: DefenderFn, sigma: np.ndarray, tau: np.ndarray,
    *, steps: int, dt: float, tol: float,
) -> DynamicsResult:
    """Two-population replicator dynamics [TJ78]_ from the mixtures (σ, τ), stopping once regret ≤ ``tol``.

    Attackers follow ``σ̇_s = σ_s (dev_s − σ·dev)``, the defender
    ``τ̇_d = τ_d (v_d − τ·v)``, integrated by simultaneous Euler steps
    (:func:`replicator_step`) of size ``dt / range``, where ``range`` is the
    largest spread of that role's payoffs seen so far: scale-free, and with
    ``0 < dt ≤ 1`` no probability turns negative. A rest point that is not
    an equilibrium (a pure start with a better reply) stops the run
    unconverged; so does reaching ``steps``.
    """
    steps = check_int("steps", steps, 0)
    if not (isinstance(dt, (int, float)) and 0 < dt <= 1):
        raise ValueError(f"dt must be in (0, 1], got {dt!r}")
    tol = check_tol(tol)
    a_range = b_range = 0.0
    step = 0
    while True:
        dev, a_spread = deviation(sigma, tau)
        v, b_spread = defender(sigma)
        regret = Regret(best_reply_gain(sigma, dev), best_reply_gain(tau, v))
        if regret.max <= tol or step >= steps:
            return DynamicsResult(sigma, tau, regret, step, regret.max <= tol)
        a_range, b_range = max(a_range, a_spread), max(b_range, b_spread)
        new_sigma = replicator_step(sigma, dev, dt / a_range) if a_range > 0 else sigma
        new_tau = replicator_step(tau, v, dt / b_range) if b_range > 0 else tau
        if np.array_equal(new_sigma, sigma) and np.array_equal(new_tau, tau):
            # A rest point that is not an equilibrium (e.g. a pure start with a better reply).
            return DynamicsResult(sigma, tau, regret, step, False)
        sigma, tau = new_sigma, new_tau
        step += 1


def regret_objective(U: np.ndarray, V: np.ndarray, n: int) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """``z = (σ, τ) ↦ (Φ(z), ∇Φ(z))``, the squared range-scaled gains of the ``n``-attacker game ``(U, V)``.

    ``U[m, s, d]`` is the payoff of an attacker playing ``s`` in the ``m``-th
    count profile of :func:`~gametheory.count_profiles.multinomial_profiles`
    under defender strategy ``d`` (NaN where ``s`` is unplayed), ``V[m, d]``
    the defender's; every profile must be known.
    ``Φ(σ, τ) = Σ_s (g_s / R_a)² + Σ_d (h_d / R_b)²`` with gains
    ``g_s = max(0, dev_s − σ·dev)``, ``h_d = max(0, v_d − τ·v)`` and
    ``R_a, R_b`` each role's payoff range. Gradients are exact: on the
    polynomial extension of the multinomial,
    ``∂dev_s/∂σ_t = (N-1) E_{Mult(N-2, σ)} u_s(c+e_s+e_t)`` and
    ``∂v_d/∂σ_t = N E_{Mult(N-1, σ)} v(c+e_t, d)``.
    """
    N, K, D = n, U.shape[1], U.shape[2]
    c1 = profile_index(N - 1, K).counts
    plus1 = plus_index(N - 1, K)
    A1 = U[plus1, np.arange(K)[None, :], :]  # (M1, K, D): u_s(c + e_s, d)
    H1 = V[plus1]  # (M1, K, D): v(c + e_t, d)
    if N >= 2:
        c2 = profile_index(N - 2, K).counts
        plus2 = plus_index(N - 2, K)  # (M2, K): c + e_t
        # A2[r, s, t, d] = u_s(c + e_t + e_s, d)
        A2 = U[plus1[plus2][:, :, :, None], np.arange(K)[None, None, :, None], np.arange(D)]
        A2 = A2.transpose(0, 2, 1, 3)
    a_scale = float(np.nanmax(U) - np.nanmin(U)) or 1.0
    b_scale = float(V.max() - V.min()) or 1.0

    def weights(n: int, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return np.exp(log_multinomial(n, np.clip(x, 0.0, None), counts))

    def phi(z: np.ndarray) -> tuple[float, np.ndarray]:
        x, y = np.clip(z[:K], 0.0, None), np.clip(z[K:], 0.0, None)
        W = np.einsum("r,rsd->sd", weights(N - 1, x, c1), A1)  # dev_s = W @ y
        dev = W @ y
        J = np.zeros((K, K))
        if N >= 2:
            J = (N - 1) * np.einsum("r,rstd,d->st", weights(N - 2, x, c2), A2, y)
        Hd = N * np.einsum("r,rtd->dt", weights(N - 1, x, c1), H1)  # ∂v_d/∂σ_t
        v = weights(N, x, profile_index(N, K).counts) @ V
        a, b = x @ dev, y @ v
        g = np.clip(dev - a, 0.0, None) / a_scale
        h = np.clip(v - b, 0.0, None) / b_scale
        grad_a_x = dev + x @ J
        grad_a_y = x @ W
        gx = 2 * (g @ (J - grad_a_x[None, :])) / a_scale + 2 * (h @ (Hd - (y @ Hd)[None, :])) / b_scale
        gy = 2 * (g @ (W - grad_a_y[None, :])) / a_scale - 2 * h.sum() * v / b_scale
        return float(g @ g + h @ h), np.concatenate([gx, gy])

    return phi


def minimize_regret(
    phi: Callable[[np.ndarray], tuple[float, np.ndarray]], sigma: np.ndarray, tau: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """A local minimum of ``phi`` (:func:`regret_objective`) over ``Δ_K × Δ_D`` from (σ, τ), by SLSQP [Kra88]_.

    At most ``steps`` iterations; the end point is clipped at 0 and
    renormalised (a role whose entries all vanish keeps its start). It may
    stop at a local minimum with Φ > 0.
    """
    K, D = len(sigma), len(tau)
    constraints = [
        {"type": "eq", "fun": lambda z: z[:K].sum() - 1.0, "jac": lambda z: np.r_[np.ones(K), np.zeros(D)]},
        {"type": "eq", "fun": lambda z: z[K:].sum() - 1.0, "jac": lambda z: np.r_[np.zeros(K), np.ones(D)]},
    ]
    result = minimize(
        phi,
        np.concatenate([sigma, tau]),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * (K + D),
        constraints=constraints,
        options={"maxiter": steps, "ftol": _SLSQP_FTOL},
    )
    z = np.clip(result.x, 0.0, None)
    sigma = z[:K] / z[:K].sum() if z[:K].sum() > 0 else sigma
    tau = z[K:] / z[K:].sum() if z[K:].sum() > 0 else tau
    return sigma, tau


def default_starts(
    attackers: Sequence[str], defenders: Sequence[str], n_random: int = 8, seed: int = DEFAULT_SEED
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Starting points ``(label, σ, τ)`` for an equilibrium search over the given strategies.

    Uniform σ and τ; each pure attacker strategy with uniform τ; uniform σ
    with each pure defender strategy (when D > 1); each pure pair; then
    ``n_random`` draws of σ ~ Dirichlet(1_K), τ ~ Dirichlet(1_D) from
    ``numpy.random.default_rng(seed)``.
    """
    n_random = check_int("n_random", n_random, 0)
    K, D = len(attackers), len(defenders)
    uk, ud = np.full(K, 1.0 / K), np.full(D, 1.0 / D)
    eye_k, eye_d = np.eye(K), np.eye(D)
    starts = [("uniform", uk, ud)]
    starts += [(f"attacker:{s}", eye_k[i], ud) for i, s in enumerate(attackers)]
    if D > 1:
        starts += [(f"defender:{d}", uk, eye_d[j]) for j, d in enumerate(defenders)]
        starts += [
            (f"pure:{s}/{d}", eye_k[i], eye_d[j])
            for i, s in enumerate(attackers)
            for j, d in enumerate(defenders)
        ]
    rng = np.random.default_rng(seed)
    for r in range(n_random):
        starts.append((f"random:{r}", rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(D))))
    return starts
