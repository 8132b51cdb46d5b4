"""zo.direction reproduces the library's directions: checked against an independent Philox."""
import math

import numpy as np
import pytest

import zo

from conftest import reference_words


@pytest.mark.parametrize("seed,step,substream", [(0, 0, 0), (12345678901234, 77, 3),
                                                 (2**64 - 1, 2**32 - 2, zo.TRACE_PROBE_SUBSTREAM)])
def test_rademacher_is_the_top_bit_of_philox(seed, step, substream):
    d = 4 * 9 + 3  # not a multiple of 4
    u = zo.direction(seed, step, d, substream, "rademacher")
    expected = []
    for block in range((d + 3) // 4):
        expected += [-1.0 if w >> 31 else 1.0 for w in reference_words(seed, step, substream, block)]
    np.testing.assert_array_equal(u, np.array(expected[:d], np.float32))


def test_gaussian_matches_box_muller_within_the_documented_bound():
    d = 64
    u = zo.direction(5, 9, d, 1)
    ideal = []
    for block in range(d // 4):
        w = reference_words(5, 9, 1, block)
        for a, b in ((w[0], w[1]), (w[2], w[3])):
            uu = (2 * (a & 0x7FFFFF) + 1) * 2.0**-24
            f = (b & 0x7FFFFF) * 2.0**-22 - 1
            r = math.sqrt(-2 * math.log(uu))
            ideal += [(-1 if a >> 31 else 1) * r * math.cos(math.pi * f / 2),
                      r * math.sin(math.pi * f / 2)]
    # |z - z_ideal| <= 3.1e-7 r + 6e-8 |z| <= 2.1e-6 (zo/direction.hpp)
    np.testing.assert_allclose(u, ideal, rtol=0, atol=2.1e-6)


def test_fill_direction_equals_direction_and_shards_agree():
    out = np.empty(1000, np.float32)
    zo.fill_direction(out, seed=3, step=4, substream=2)
    np.testing.assert_array_equal(out, zo.direction(3, 4, 1000, 2))
    # A Stepper over a shard with coordinate_offset uses the global coordinates' directions.
    x = np.zeros(37, np.float32)
    s = zo.Stepper([x], lam=1.0, eta=0.0, seed=3, start_step=4, coordinate_offset=101)
    s.perturb()
    np.testing.assert_array_equal(x, zo.direction(3, 4, 138)[101:])


def test_gaussian_fill_is_the_initial_point_convention():
    np.testing.assert_array_equal(zo.gaussian_fill(7, 10), zo.direction(7, 2**32 - 1, 10, 0))


def test_step_out_of_range():
    with pytest.raises(ValueError, match="step must be < 2\\^32"):
        zo.direction(0, 2**32, 4)
