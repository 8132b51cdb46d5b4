#include "zo/callback_objective.hpp"

#include <string>

#include "zo/error.hpp"

namespace zo {

CallbackObjective::CallbackObjective(std::size_t dim, BatchCallback evaluate,
                                     CallbackOptions options)
    : dim_(dim), evaluate_(std::move(evaluate)), options_(std::move(options)) {
  ZO_EXPECTS(dim_ >= 1, "CallbackObjective '" + options_.name + "': dim must be at least 1");
  ZO_EXPECTS(static_cast<bool>(evaluate_),
             "CallbackObjective '" + options_.name + "': the evaluate callback is empty");
  ZO_EXPECTS(options_.host || options_.device,
             "CallbackObjective '" + options_.name +
                 "': the callback must accept host or device memory (options.host/device)");
}

CallbackObjective::~CallbackObjective() = default;

bool CallbackObjective::accepts(MemorySpace space) const {
  return space == MemorySpace::host ? options_.host : options_.device;
}

void CallbackObjective::evaluate(const PointBatch& points, double* values) const {
  check_batch(*this, points);
  if (points.count == 0) return;
  evaluate_(points, values);
}

void CallbackObjective::gradient(const PointBatch& points, float* grads,
                                 std::size_t grad_stride) const {
  if (!options_.gradient) Objective::gradient(points, grads, grad_stride);  // throws NotSupported
  check_batch(*this, points);
  if (points.count == 0) return;
  options_.gradient(points, grads, grad_stride);
}

}  // namespace zo
