// The names of the trace estimators and the one-line text of an estimate (zo/trace.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "zo/error.hpp"
#include "zo/trace.hpp"

namespace zo {

const char* to_string(TraceEstimator estimator) {
  switch (estimator) {
    case TraceEstimator::exact:
      return "exact";
    case TraceEstimator::hutchinson:
      return "hutchinson";
    case TraceEstimator::zo:
      return "zo";
    case TraceEstimator::sharpness:
      return "sharpness";
    case TraceEstimator::hutchpp:
      return "hutch++";
  }
  return "?";
}

TraceEstimator parse_trace_estimator(const std::string& text) {
  if (text == "exact") return TraceEstimator::exact;
  if (text == "hutchinson") return TraceEstimator::hutchinson;
  if (text == "zo" || text == "zo2" || text == "fd") return TraceEstimator::zo;
  if (text == "sharpness") return TraceEstimator::sharpness;
  if (text == "hutch++" || text == "hutchpp") return TraceEstimator::hutchpp;
  ZO_FAIL(InvalidArgument, "unknown trace estimator '" + text +
                               "' (expected exact, hutchinson, zo, sharpness or hutch++)");
}

std::string to_string(const TraceEstimate& e) {
  char buf[160];
  const char* name = to_string(e.estimator);
  if (e.estimator == TraceEstimator::exact) {
    std::snprintf(buf, sizeof buf, "tr H = %.10g (exact)", e.estimate);
    return buf;
  }
  std::string text;
  if (std::isfinite(e.std_error) && e.std_error > 0.0) {
    // Two significant digits of the error when it starts with 1 or 2, else one.
    const int exponent = static_cast<int>(std::floor(std::log10(e.std_error)));
    const double lead = e.std_error / std::pow(10.0, exponent);
    const int digits = lead < 2.95 ? 2 : 1;
    const int place = digits - 1 - exponent;  // decimal places to keep (negative: tens, ...)
    const int decimals = std::max(0, place);
    const double unit = place < 0 ? std::pow(10.0, -place) : 1.0;
    const double value = place < 0 ? std::round(e.estimate / unit) * unit : e.estimate;
    const double error = place < 0 ? std::round(e.std_error / unit) * unit : e.std_error;
    std::snprintf(buf, sizeof buf, "tr H = %.*f ± %.*f", decimals, value, decimals, error);
    text = buf;
  } else if (e.std_error == 0.0) {
    std::snprintf(buf, sizeof buf, "tr H = %.10g ± 0", e.estimate);
    text = buf;
  } else {
    std::snprintf(buf, sizeof buf, "tr H = %.6g (no error bar)", e.estimate);
    text = buf;
  }
  // m as the caller chose it: probes, or for Hutch++ the number of Hessian-vector products.
  const std::uint64_t m = e.estimator == TraceEstimator::hutchpp
                              ? e.hvp_evaluations + e.gradient_evaluations / 2
                              : e.probes;
  std::string cost = std::string(" (") + name + ", m = " + std::to_string(m);
  if (e.hvp_evaluations > 0) cost += ", " + std::to_string(e.hvp_evaluations) + " HVPs";
  if (e.gradient_evaluations > 0) {
    cost += ", " + std::to_string(e.gradient_evaluations) + " gradients";
  }
  if (e.value_evaluations > 0) cost += ", " + std::to_string(e.value_evaluations) + " evaluations";
  if (e.epsilon > 0.0) {
    std::snprintf(buf, sizeof buf, ", eps = %.3g", e.epsilon);
    cost += buf;
  }
  return text + cost + ")";
}

}  // namespace zo
