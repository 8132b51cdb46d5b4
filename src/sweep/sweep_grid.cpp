// Sweep grids: the Cartesian product of methods × λ × η × q, and the rows of the long table.
#include <string>
#include <vector>

#include "zo/error.hpp"
#include "zo/sweep.hpp"

namespace zo {

std::vector<SweepConfig> sweep_grid(const std::vector<Method>& methods,
                                    const std::vector<float>& lambdas,
                                    const std::vector<float>& etas,
                                    const std::vector<std::uint32_t>& qs,
                                    Distribution distribution) {
  ZO_EXPECTS(!methods.empty(), "sweep_grid: no methods");
  ZO_EXPECTS(!etas.empty(), "sweep_grid: no step sizes (etas)");
  ZO_EXPECTS(!qs.empty(), "sweep_grid: no q values");
  std::vector<SweepConfig> out;
  for (Method m : methods) {
    const std::vector<float> ls = m == Method::zo ? lambdas : std::vector<float>{0.0f};
    ZO_EXPECTS(!ls.empty(), "sweep_grid: method zo needs at least one lambda");
    const std::vector<std::uint32_t> q_list = m == Method::gd ? std::vector<std::uint32_t>{1} : qs;
    for (float lambda : ls) {
      for (float eta : etas) {
        for (std::uint32_t q : q_list) {
          SweepConfig c;
          c.method = m;
          c.lambda = lambda;
          c.eta = eta;
          c.q = q;
          c.distribution = distribution;
          RunSpec s;
          s.method = m;
          s.lambda = lambda;
          s.eta = eta;
          s.q = q;
          s.distribution = distribution;
          validate(s);
          out.push_back(c);
        }
      }
    }
  }
  return out;
}

void SweepRows::clear() {
  run.clear();
  iteration.clear();
  loss.clear();
  trace.clear();
  metrics.clear();
  diverged.clear();
  diverged_at.clear();
}

void SweepRows::append_row(const SweepRows& other, std::size_t i) {
  run.push_back(other.run[i]);
  iteration.push_back(other.iteration[i]);
  loss.push_back(other.loss[i]);
  trace.push_back(other.trace[i]);
  for (std::size_t m = 0; m < metric_count; ++m)
    metrics.push_back(other.metrics[i * other.metric_count + m]);
  diverged.push_back(other.diverged[i]);
  diverged_at.push_back(other.diverged_at[i]);
}
}  // namespace zo
