"""Stable, process-independent randomness.

Python's ``hash`` is salted per process, so every seed here is derived with SHA-256 instead: the same
(seed, tenant, bucket) yields the same data in every process and on every machine.
"""

from __future__ import annotations

import hashlib
import math
import random

URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def stable_int(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    return stable_int(*parts) / 2**64


def rng_for(*parts: object) -> random.Random:
    return random.Random(stable_int(*parts))


def token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(URL_SAFE) for _ in range(length))


def poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw; normal approximation above 50 keeps 100,000/day cheap."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def bounded_exp(rng: random.Random, mean: float, low: float, high: float) -> float:
    return min(high, max(low, rng.expovariate(1.0 / mean)))
