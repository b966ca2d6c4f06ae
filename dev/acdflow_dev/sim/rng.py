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


# choice() over the 64 symbols draws 7 bits (the top of one 32-bit Mersenne Twister word) and
# rejects values >= 64 (random._randbelow). Indexed by a word's top byte: its symbol, or deleted.
_TOKEN_TABLE = bytes(URL_SAFE[top >> 1].encode()[0] if top < 128 else 0 for top in range(256))
_TOKEN_REJECTED = bytes(range(128, 256))


def token(rng: random.Random, length: int) -> str:
    """``length`` draws of ``rng.choice(URL_SAFE)``: the same words of the stream, drawn in bulk.

    ``getrandbits(32 * n)`` returns the next ``n`` words, the first least significant, so the top
    byte of word ``i`` is byte ``4 * i + 3`` of its little-endian form. Drawing only as many words
    as symbols are still missing never takes a word the one-at-a-time loop would not.
    """
    out = b""
    while len(out) < length:
        need = length - len(out)
        words = rng.getrandbits(32 * need).to_bytes(4 * need, "little")
        out += words[3::4].translate(_TOKEN_TABLE, _TOKEN_REJECTED)
    return out.decode()


def below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)`` for ``n >= 1``: the same draws as ``random._randbelow_with_getrandbits``."""
    getrandbits = rng.getrandbits
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def randint(rng: random.Random, a: int, b: int) -> int:
    """``rng.randint(a, b)`` with the same draws, for ``a <= b``."""
    return a + below(rng, b - a + 1)


def randints(rng: random.Random, a: int, b: int, count: int) -> list[int]:
    """``[rng.randint(a, b) for _ in range(count)]`` with the same draws, for ``a <= b``."""
    getrandbits = rng.getrandbits
    n = b - a + 1
    k = n.bit_length()
    out: list[int] = []
    for _ in range(count):
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        out.append(a + r)
    return out


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
    # rng.expovariate(1.0 / mean) spelled out (its draw and arithmetic): called for every phase
    # of every generated interaction.
    return min(high, max(low, -math.log(1.0 - rng.random()) / (1.0 / mean)))
