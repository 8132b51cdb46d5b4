import numpy as np
import pytest

import zo


@pytest.fixture(autouse=True)
def _quiet_zo():
    zo.set_log_quiet(True)
    yield


def philox4x32_10(ctr, key):
    """Philox4x32-10 in plain Python (Salmon et al. 2011), independent of zo's C++ code."""
    mask = 0xFFFFFFFF
    c = list(ctr)
    k0, k1 = key
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + 0x9E3779B9) & mask
            k1 = (k1 + 0xBB67AE85) & mask
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & mask, p1 & mask, ((p0 >> 32) ^ c[3] ^ k1) & mask,
             p0 & mask]
    return c


def reference_words(seed, step, substream, block):
    return philox4x32_10([block & 0xFFFFFFFF, block >> 32, step, substream],
                         [seed & 0xFFFFFFFF, seed >> 32])


def fma32(a, b, c):
    """float32(a*b + c) with one rounding, for float32 inputs (exact product in float64; the
    float64 sum rounds at most once more, which matches fma except on ties 2^-29 apart)."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)
