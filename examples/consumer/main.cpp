// Minimal consumer of libzo: Algorithm 1 on Example 2.1, then a check that it made progress.
#include <cstdio>
#include <vector>
#include <zo/zo.hpp>

int main() {
  zo::set_log_sink({});               // silence the one-line backend log
  const zo::Example21 objective(50);  // h(y, z) = (yᵀz − 1)²/2, y, z ∈ R^50
  std::vector<float> x(objective.dim());
  zo::gaussian_fill(/*seed=*/1, /*substream=*/0, x.data(), x.size());
  for (float& v : x) v *= 0.2f;

  const double before = zo::evaluate_one(objective, x.data());
  zo::RunSpec spec;  // method zo, Gaussian directions, q = 1
  spec.lambda = 0.1f;
  spec.eta = 1e-3f;
  spec.seed = 42;
  const double after = zo::minimize(objective, x.data(), spec, /*steps=*/3000);

  std::printf("zo %s: loss %.6g -> %.6g\n", zo::version(), before, after);
  return after < before ? 0 : 1;
}
