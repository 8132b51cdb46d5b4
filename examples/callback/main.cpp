// A user-defined objective through zo::CallbackObjective: zo hands the callback all 2·K·q
// perturbed points of a step in ONE call (host pointers here; device pointers with
// CallbackOptions::device on the CUDA backend), and keeps direction sampling and updates to
// itself. Here: a least-squares fit, f(x) = (1/2m)‖Bx − c‖², with B and c the user's own data,
// four ZO runs with different λ in one RunBatch, plus GD through an optional gradient callback.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>
#include <zo/zo.hpp>

int main() {
  zo::set_log_sink({});  // silence the one-line backend log
  const std::size_t m = 200, d = 20;
  std::mt19937 rng(1);
  std::normal_distribution<double> normal;
  std::vector<double> B(m * d), c(m, 0.0), w_true(d);
  for (double& v : B) v = normal(rng) / std::sqrt(double(d));
  for (double& v : w_true) v = normal(rng);
  for (std::size_t i = 0; i < m; ++i) {  // c = B·w_true + noise
    for (std::size_t j = 0; j < d; ++j) c[i] += B[i * d + j] * w_true[j];
    c[i] += 0.1 * normal(rng);
  }

  // The user's code: residuals and the loss of every point of the batch.
  auto loss = [&](const zo::PointBatch& points, double* values) {
    for (std::size_t p = 0; p < points.count; ++p) {
      const float* x = points.point(p);
      double f = 0.0;
      for (std::size_t i = 0; i < m; ++i) {
        double r = -c[i];
        for (std::size_t j = 0; j < d; ++j) r += B[i * d + j] * x[j];
        f += r * r;
      }
      values[p] = f / (2.0 * m);
    }
  };
  zo::CallbackOptions options;
  options.name = "least-squares";
  options.gradient = [&](const zo::PointBatch& points, float* grads, std::size_t stride) {
    for (std::size_t p = 0; p < points.count; ++p) {
      const float* x = points.point(p);
      std::vector<double> g(d, 0.0);
      for (std::size_t i = 0; i < m; ++i) {
        double r = -c[i];
        for (std::size_t j = 0; j < d; ++j) r += B[i * d + j] * x[j];
        for (std::size_t j = 0; j < d; ++j) g[j] += r * B[i * d + j] / m;
      }
      for (std::size_t j = 0; j < d; ++j) grads[p * stride + j] = static_cast<float>(g[j]);
    }
  };
  const zo::CallbackObjective objective(d, loss, options);

  std::vector<zo::RunSpec> runs;
  for (float lambda : {0.1f, 0.03f, 0.01f, 0.003f}) {
    zo::RunSpec s;  // Algorithm 1 with Gaussian directions, q = 1
    s.lambda = lambda;
    s.eta = 0.02f;
    s.seed = runs.size() + 1;
    runs.push_back(s);
  }
  zo::RunSpec gd;
  gd.method = zo::Method::gd;
  gd.eta = 0.5f;
  runs.push_back(gd);
  const std::vector<float> x0(runs.size() * d, 0.0f);
  zo::RunBatch batch(objective, runs, x0.data());  // the GPU when one is usable

  std::vector<double> before(runs.size()), after(runs.size());
  batch.measure(before.data());
  batch.run(3000);
  batch.measure(after.data());
  bool ok = true;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    std::printf("%-3s lambda=%-6g loss %.5f -> %.5f\n", zo::to_string(runs[k].method),
                runs[k].method == zo::Method::zo ? runs[k].lambda : 0.0f, before[k], after[k]);
    ok = ok && after[k] < 0.5 * before[k];
  }
  std::printf("backend: %s\n", zo::to_string(batch.backend()));
  return ok ? 0 : 1;
}
