// Example 2.1: the analytic gradient, HVP, trace and B against central finite differences of the
// objective's values in double precision. Points lie on a 2^-6 grid and steps are multiples of
// 2^-7, so every perturbed point is exact in float; h is a degree-4 polynomial along any line, so
// one Richardson extrapolation removes the truncation error of the central differences exactly
// and the comparison is limited only by rounding (float outputs: relative 1e-6).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tolerance.hpp"
#include "zo/direction.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"

namespace {

constexpr std::size_t kD = 7;
constexpr double kH = 1.0 / 128.0;

std::vector<float> grid_point(std::uint64_t seed) {
  std::vector<float> x(2 * kD);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint32_t w = zo::direction_bits({seed, 0, 0}, i).v[0];
    x[i] = static_cast<float>(static_cast<int>(w % 193) - 96) / 64.0f;  // in [-1.5, 1.5]
  }
  return x;
}

double f_at(const zo::Example21& h, const std::vector<float>& x, const std::vector<double>& dir,
            double t) {
  std::vector<float> p(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>(x[i]) + t * dir[i];
    p[i] = static_cast<float>(v);
    EXPECT_EQ(static_cast<double>(p[i]), v) << "perturbed point not exact in float";
  }
  return zo::evaluate_one(h, p.data());
}

// Directional first derivative by Richardson-extrapolated central differences.
double first_derivative(const zo::Example21& h, const std::vector<float>& x,
                        const std::vector<double>& dir) {
  auto central = [&](double s) { return (f_at(h, x, dir, s) - f_at(h, x, dir, -s)) / (2 * s); };
  return (4.0 * central(kH) - central(2 * kH)) / 3.0;
}

// Directional second derivative dirᵀ H dir, likewise.
double second_derivative(const zo::Example21& h, const std::vector<float>& x,
                         const std::vector<double>& dir) {
  const double f0 = f_at(h, x, dir, 0.0);
  auto central = [&](double s) {
    return (f_at(h, x, dir, s) - 2.0 * f0 + f_at(h, x, dir, -s)) / (s * s);
  };
  return (4.0 * central(kH) - central(2 * kH)) / 3.0;
}

zo::PointBatch one(const std::vector<float>& x) {
  zo::PointBatch b;
  b.data = x.data();
  b.count = 1;
  b.dim = x.size();
  b.stride = x.size();
  return b;
}

std::vector<double> unit(std::size_t i) {
  std::vector<double> e(2 * kD, 0.0);
  e[i] = 1.0;
  return e;
}

TEST(Example21, ValueMatchesDefinition) {
  const zo::Example21 h(kD);
  const auto x = grid_point(1);
  double yz = 0.0;
  for (std::size_t i = 0; i < kD; ++i) yz += static_cast<double>(x[i]) * x[kD + i];
  EXPECT_TRUE(zo_test::IsClose(zo::evaluate_one(h, x.data()), 0.5 * (yz - 1) * (yz - 1), 1e-15, 0));
}

TEST(Example21, GradientMatchesFiniteDifferences) {
  const zo::Example21 h(kD);
  for (std::uint64_t seed : {1, 2, 3}) {
    const auto x = grid_point(seed);
    std::vector<float> g(2 * kD);
    h.gradient(one(x), g.data(), 2 * kD);
    for (std::size_t i = 0; i < 2 * kD; ++i) {
      EXPECT_TRUE(zo_test::IsClose(g[i], first_derivative(h, x, unit(i)), 1e-6, 1e-9))
          << "seed " << seed << " coordinate " << i;
    }
  }
}

TEST(Example21, HessianVectorProductMatchesFiniteDifferences) {
  const zo::Example21 h(kD);
  for (std::uint64_t seed : {4, 5}) {
    const auto x = grid_point(seed);
    std::vector<double> v(2 * kD);
    std::vector<float> vf(2 * kD);
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i] =
          static_cast<double>(static_cast<int>(zo::direction_bits({seed, 1, 0}, i).v[1] % 3) - 1);
      vf[i] = static_cast<float>(v[i]);
    }
    std::vector<float> hv(2 * kD);
    h.hvp(one(x), one(vf), hv.data(), 2 * kD);
    for (std::size_t i = 0; i < 2 * kD; ++i) {
      // e_iᵀHv by polarisation: ((e_i+v)ᵀH(e_i+v) − (e_i−v)ᵀH(e_i−v)) / 4.
      std::vector<double> a = unit(i), b = unit(i);
      for (std::size_t k = 0; k < v.size(); ++k) {
        a[k] += v[k];
        b[k] -= v[k];
      }
      const double ref = (second_derivative(h, x, a) - second_derivative(h, x, b)) / 4.0;
      EXPECT_TRUE(zo_test::IsClose(hv[i], ref, 1e-6, 1e-8)) << "seed " << seed << " i " << i;
    }
  }
}

TEST(Example21, TraceMatchesFiniteDifferencesAndNorms) {
  const zo::Example21 h(kD);
  for (std::uint64_t seed : {6, 7}) {
    const auto x = grid_point(seed);
    double fd = 0.0, norms = 0.0;
    for (std::size_t i = 0; i < 2 * kD; ++i) {
      fd += second_derivative(h, x, unit(i));
      norms += static_cast<double>(x[i]) * x[i];
    }
    double trace = 0.0;
    h.exact_trace(one(x), &trace);
    EXPECT_TRUE(zo_test::IsClose(trace, fd, 1e-9, 1e-9));
    EXPECT_TRUE(zo_test::IsClose(trace, norms, 1e-15, 0.0));
    double b = 0.0;
    h.metrics(one(x), &b);
    double yy = 0.0, zz = 0.0;
    for (std::size_t i = 0; i < kD; ++i) {
      yy += static_cast<double>(x[i]) * x[i];
      zz += static_cast<double>(x[kD + i]) * x[kD + i];
    }
    EXPECT_TRUE(zo_test::IsClose(b, 0.5 * (yy - zz), 1e-15, 1e-15));
  }
}

TEST(Example21, BatchEqualsSinglePoints) {
  const zo::Example21 h(kD);
  std::vector<float> xs;
  for (std::uint64_t seed = 0; seed < 9; ++seed) {
    const auto x = grid_point(seed);
    xs.insert(xs.end(), x.begin(), x.end());
  }
  zo::PointBatch b;
  b.data = xs.data();
  b.count = 9;
  b.dim = 2 * kD;
  b.stride = 2 * kD;
  std::vector<double> values(9);
  h.evaluate(b, values.data());
  for (std::size_t p = 0; p < 9; ++p) EXPECT_EQ(values[p], zo::evaluate_one(h, &xs[p * 2 * kD]));
}

TEST(Example21, RejectsBadInput) {
  EXPECT_THROW(zo::Example21(0), zo::InvalidArgument);
  const zo::Example21 h(kD);
  std::vector<float> x(2 * kD + 1);
  zo::PointBatch b;
  b.data = x.data();
  b.count = 1;
  b.dim = 2 * kD + 1;
  b.stride = 2 * kD + 1;
  double v;
  EXPECT_THROW(h.evaluate(b, &v), zo::InvalidArgument);
}

}  // namespace
