// Prints which CPU copy of libzo is running and a digest of the bits of what the hot CPU code
// computes (RunBatch steps with every method and distribution, the Stepper, the trace
// estimators). tests/cpu_dispatch_test.sh runs it once per copy (baseline x86-64 and x86-64-v3,
// see cmake/ZoCpuDispatch.cmake) and requires identical digests.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "zo/backend.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"
#include "zo/trace.hpp"
#include "zo/version.hpp"

namespace {

/// FNV-1a over the object representation: any differing bit changes the digest.
struct Digest {
  std::uint64_t h = 1469598103934665603ull;
  template <typename T>
  void add(const T* p, std::size_t n) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n * sizeof(T); ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <typename T>
  void add(const T& v) {
    add(&v, 1);
  }
};

void print(const char* what, const Digest& d) {
  std::printf("%-22s %016llx\n", what, static_cast<unsigned long long>(d.h));
}

}  // namespace

int main() {
  zo::set_log_sink({});
  std::printf("%s\n", zo::build_summary().c_str());

  const std::size_t d = 37;  // odd: remainder lanes of 4-wide blocks
  const zo::Example21 f(d);
  std::vector<float> x0(f.dim());
  zo::gaussian_fill(7, 0, x0.data(), x0.size());

  // RunBatch on the CPU (generic and fused engines are both chosen by minimize/RunBatch as
  // the objective allows): every method and distribution, q = 1 and 3.
  for (zo::Method method : {zo::Method::zo, zo::Method::gd, zo::Method::zo_limit}) {
    for (zo::Distribution dist :
         {zo::Distribution::gaussian, zo::Distribution::rademacher, zo::Distribution::sphere}) {
      for (std::uint32_t q : {1u, 3u}) {
        zo::RunSpec s;
        s.method = method;
        s.distribution = dist;
        s.q = q;
        s.seed = 11;
        s.lambda = 0.05f;
        s.eta = method == zo::Method::gd ? 1e-2f : 1e-3f;
        zo::BatchOptions o;
        o.backend = zo::Backend::cpu;
        std::vector<float> x = x0;
        Digest dg;
        dg.add(zo::minimize(f, x.data(), s, 300, o));
        dg.add(x.data(), x.size());
        char name[64];
        std::snprintf(name, sizeof name, "minimize/%s/%s/q%u", zo::to_string(method),
                      zo::to_string(dist), q);
        print(name, dg);
      }
    }
  }

  // The Stepper on host memory, in every restore mode, with Example 2.1 as the forward pass.
  for (zo::RestoreMode mode :
       {zo::RestoreMode::arithmetic, zo::RestoreMode::copy, zo::RestoreMode::residual}) {
    std::vector<float> x = x0;
    zo::StepperOptions o;
    o.lambda = 1e-2f;
    o.eta = 1e-3f;
    o.q = 2;
    o.seed = 5;
    o.restore = mode;
    o.backend = zo::Backend::cpu;
    zo::Stepper stepper({zo::ParamTensor{x.data(), x.size()}}, o);
    auto value = [&] {
      zo::PointBatch b;
      b.data = x.data();
      b.count = 1;
      b.dim = x.size();
      b.stride = x.size();
      double v = 0.0;
      f.evaluate(b, &v);
      return v;
    };
    Digest dg;
    for (int t = 0; t < 200; ++t) {
      for (std::uint32_t j = 0; j < o.q; ++j) {
        stepper.perturb();
        const double fp = value();
        stepper.flip();
        const double fm = value();
        stepper.update(fp, fm);
      }
    }
    stepper.restore();
    dg.add(x.data(), x.size());
    char name[64];
    std::snprintf(name, sizeof name, "stepper/%s", zo::to_string(mode));
    print(name, dg);
  }

  // The trace estimators at x0.
  for (zo::TraceEstimator e : {zo::TraceEstimator::hutchinson, zo::TraceEstimator::zo,
                               zo::TraceEstimator::sharpness, zo::TraceEstimator::hutchpp}) {
    zo::TraceOptions o;
    o.backend = zo::Backend::cpu;
    const zo::TraceEstimate t = zo::estimate_trace(e, f, x0.data(), 60, 3, o);
    Digest dg;
    dg.add(t.estimate);
    dg.add(t.std_error);
    dg.add(t.rounding_error);
    char name[64];
    std::snprintf(name, sizeof name, "trace/%s", zo::to_string(e));
    print(name, dg);
  }
  return 0;
}
