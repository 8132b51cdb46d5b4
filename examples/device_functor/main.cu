// A device functor as a zo objective. The functor is an ordinary struct with __host__ __device__
// members; zo/device_objective.cuh instantiates zo's templated kernel for it in THIS translation
// unit, so the objective accepts device memory without any callback into libzo. RunBatch picks
// the GPU when one is usable (the CUDA backend then hands the objective device pointers) and the
// CPU otherwise (the same functor evaluates host batches).
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>
#include <zo/device_objective.cuh>
#include <zo/zo.hpp>

/// The Rosenbrock function as a sum of terms: one block per point sums term(x, i) over i.
struct Rosenbrock {
  __host__ __device__ double term(const float* x, std::size_t i, std::size_t d) const {
    if (i + 1 >= d) return 0.0;
    const double t = double(x[i + 1]) - double(x[i]) * x[i];
    const double u = 1.0 - double(x[i]);
    return 100.0 * t * t + u * u;
  }
  __host__ __device__ double finish(double sum, std::size_t) const { return sum; }
};

int main() {
  zo::set_log_sink({});
  const std::size_t d = 32;
  const auto objective = zo::make_sum_objective(d, Rosenbrock{}, "rosenbrock");

  std::vector<zo::RunSpec> runs(4);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    runs[k].lambda = 0.01f;
    runs[k].eta = 2e-4f;
    runs[k].seed = 7 + k;
  }
  std::vector<float> x0(runs.size() * d, 0.0f);
  zo::RunBatch batch(objective, runs, x0.data());
  std::vector<double> before(runs.size()), after(runs.size());
  batch.measure(before.data());
  batch.run(5000);
  batch.measure(after.data());
  bool ok = true;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    std::printf("run %zu: rosenbrock %.4f -> %.4f\n", k, before[k], after[k]);
    ok = ok && after[k] < 0.9 * before[k];
  }
  std::printf("backend: %s\n", zo::to_string(batch.backend()));

  // Direct use on device memory (when a GPU is present): values agree with the host path.
  if (zo::cuda_available()) {
    std::vector<float> x(runs.size() * d);
    batch.copy_points(x.data());
    zo::Stream stream;                                // a non-blocking stream of our own
    zo::DeviceArray<float> dx(x, stream);             // allocated and copied on it (blocking)
    zo::DeviceArray<double> dv(runs.size(), stream);  // allocated in its order (asynchronous)
    zo::PointBatch points{dx.data(), runs.size(), d, d, zo::MemorySpace::device, stream.view()};
    objective.evaluate(points, dv.data());  // zo's kernel, compiled here: queued on `stream`
    const std::vector<double> device_values = dv.to_host();  // blocking: waits for the kernel
    for (std::size_t k = 0; k < runs.size(); ++k) {
      std::printf("run %zu on device memory: %.4f\n", k, device_values[k]);
      ok = ok && std::abs(device_values[k] - after[k]) <= 1e-9 * (1.0 + after[k]);
    }
  }
  return ok ? 0 : 1;
}
