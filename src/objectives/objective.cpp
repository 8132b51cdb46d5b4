#include "zo/objective.hpp"

#include "zo/error.hpp"

namespace zo {

Objective::~Objective() = default;

void Objective::gradient(const PointBatch&, float*, std::size_t) const {
  ZO_FAIL(NotSupported,
          "objective '" + name() +
              "' provides values only: no gradient (GD and ZO with lambda->0 need one)");
}

void Objective::hvp(const PointBatch&, const PointBatch&, float*, std::size_t) const {
  ZO_FAIL(NotSupported, "objective '" + name() + "' provides no Hessian-vector product");
}

void Objective::exact_trace(const PointBatch&, double*) const {
  ZO_FAIL(NotSupported, "objective '" + name() + "' has no closed-form Hessian trace");
}

void Objective::metrics(const PointBatch&, double*) const {}

void check_batch(const Objective& objective, const PointBatch& points) {
  ZO_EXPECTS(points.dim == objective.dim(),
             "point dimension " + std::to_string(points.dim) + " does not match objective '" +
                 objective.name() + "' of dimension " + std::to_string(objective.dim()));
  ZO_EXPECTS(points.count == 0 || points.data != nullptr, "point batch has no data");
  ZO_EXPECTS(points.count <= 1 || points.stride >= points.dim,
             "point stride " + std::to_string(points.stride) + " is smaller than the dimension " +
                 std::to_string(points.dim));
  ZO_EXPECTS(objective.accepts(points.space),
             "objective '" + objective.name() + "' cannot read " +
                 (points.space == MemorySpace::device ? "device" : "host") + " memory");
}

double evaluate_one(const Objective& objective, const float* x) {
  PointBatch batch;
  batch.data = x;
  batch.count = 1;
  batch.dim = objective.dim();
  batch.stride = objective.dim();
  double value = 0.0;
  objective.evaluate(batch, &value);
  return value;
}

}  // namespace zo
