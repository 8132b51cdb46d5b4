#include "cli_args.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace zo_cli {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) out.push_back(item);
  if (!text.empty() && text.back() == ',') out.push_back("");
  return out;
}

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::option(const std::string& name, const std::string& default_value,
                       const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{default_value, help, false};
}

void ArgParser::flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, true};
}

void ArgParser::fail(const std::string& name, const std::string& message) const {
  throw UsageError("zo " + command_ + ": --" + name + ": " + message);
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(help_text().c_str(), stdout);
      return false;
    }
    if (arg.rfind("--", 0) != 0) {
      throw UsageError("zo " + command_ + ": unexpected argument '" + arg +
                       "' (options start with --; see zo " + command_ + " --help)");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const auto it = specs_.find(name);
    if (it == specs_.end()) {
      throw UsageError("zo " + command_ + ": unknown option --" + name + " (see zo " + command_ +
                       " --help)");
    }
    if (it->second.is_flag) {
      if (has_value) fail(name, "is a flag and takes no value");
      flags_.insert(name);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) fail(name, "needs a value");
      value = args[++i];
    }
    values_[name] = value;
  }
  return true;
}

std::string ArgParser::str(const std::string& name) const {
  const auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  return specs_.at(name).default_value;
}

bool ArgParser::has_flag(const std::string& name) const { return flags_.count(name) > 0; }

bool ArgParser::given(const std::string& name) const {
  return values_.count(name) > 0 || flags_.count(name) > 0;
}

long long ArgParser::integer(const std::string& name, long long min_value) const {
  const std::string text = str(name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) fail(name, "'" + text + "' is not an integer");
  if (v < min_value)
    fail(name, "must be at least " + std::to_string(min_value) + " (got " + text + ")");
  return v;
}

namespace {
bool parse_double(const std::string& text, double* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && *end == '\0' && errno == 0;
}
}  // namespace

double ArgParser::number(const std::string& name) const {
  double v;
  if (!parse_double(str(name), &v) || !std::isfinite(v))
    fail(name, "'" + str(name) + "' is not a finite number");
  return v;
}

double ArgParser::positive(const std::string& name) const {
  const double v = number(name);
  if (!(v > 0.0)) fail(name, "must be > 0 (got " + str(name) + ")");
  return v;
}

std::vector<double> ArgParser::positive_list(const std::string& name) const {
  std::vector<double> out;
  std::vector<std::string> texts;
  for (const auto& item : split_commas(str(name))) {
    double v;
    if (!parse_double(item, &v) || !std::isfinite(v))
      fail(name, "'" + item + "' is not a finite number");
    if (!(v > 0.0)) fail(name, "every value must be > 0 (got " + item + ")");
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == v) fail(name, "'" + item + "' repeats '" + texts[i] + "' (give each once)");
    }
    out.push_back(v);
    texts.push_back(item);
  }
  if (out.empty()) fail(name, "needs at least one value");
  return out;
}

namespace {

/// The float32 value of `v` (> 0), or an error message when it over- or underflows float32.
std::string float32_problem(double v, const std::string& text) {
  const float f = static_cast<float>(v);
  if (!std::isfinite(f)) return "'" + text + "' overflows float32 (largest about 3.4e38)";
  if (f < std::numeric_limits<float>::min()) {
    return "'" + text + "' underflows float32 (smallest normal value about 1.2e-38)";
  }
  return {};
}

}  // namespace

float ArgParser::positive_float(const std::string& name) const {
  const double v = positive(name);
  const std::string problem = float32_problem(v, str(name));
  if (!problem.empty()) fail(name, problem);
  return static_cast<float>(v);
}

std::vector<float> ArgParser::positive_float_list(const std::string& name) const {
  std::vector<float> out;
  const auto texts = split_commas(str(name));
  const auto values = positive_list(name);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string problem = float32_problem(values[i], texts[i]);
    if (!problem.empty()) fail(name, problem);
    const float f = static_cast<float>(values[i]);
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j] == f)
        fail(name, "'" + texts[i] + "' and '" + texts[j] + "' are the same float32 value");
    }
    out.push_back(f);
  }
  return out;
}

namespace {

bool parse_u64(const std::string& t, std::uint64_t* out) {
  if (t.empty() || t[0] == '-' || t[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return false;
  *out = static_cast<std::uint64_t>(v);
  return true;
}

}  // namespace

std::uint64_t ArgParser::unsigned_integer(const std::string& name) const {
  std::uint64_t v = 0;
  if (!parse_u64(str(name), &v))
    fail(name, "'" + str(name) + "' is not an integer in [0, 18446744073709551615]");
  return v;
}

std::vector<std::uint64_t> ArgParser::unsigned_list(const std::string& name,
                                                    std::size_t max_count) const {
  std::vector<std::uint64_t> out;
  auto parse = [&](const std::string& t) {
    std::uint64_t v = 0;
    if (!parse_u64(t, &v)) fail(name, "'" + t + "' is not an integer in [0, 18446744073709551615]");
    return v;
  };
  for (const auto& item : list(name)) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) {
      out.push_back(parse(item));
    } else {
      const std::uint64_t a = parse(item.substr(0, colon));
      const std::uint64_t b = parse(item.substr(colon + 1));
      if (b <= a) fail(name, "empty range '" + item + "'");
      if (b - a > max_count || out.size() + (b - a) > max_count) {
        fail(name, "'" + item + "' gives " + std::to_string(b - a) + " values; at most " +
                       std::to_string(max_count) + " are allowed");
      }
      for (std::uint64_t v = a; v < b; ++v) out.push_back(v);
    }
    if (out.size() > max_count) fail(name, "more than " + std::to_string(max_count) + " values");
  }
  std::vector<std::uint64_t> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) fail(name, std::to_string(*dup) + " appears twice (give each once)");
  return out;
}

std::vector<std::string> ArgParser::list(const std::string& name) const {
  auto items = split_commas(str(name));
  for (const auto& item : items)
    if (item.empty()) fail(name, "contains an empty item");
  return items;
}

std::vector<long long> ArgParser::integer_list(const std::string& name, long long min_value) const {
  std::vector<long long> out;
  for (const auto& item : list(name)) {
    const auto colon = item.find(':');
    auto parse_int = [&](const std::string& t) {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(t.c_str(), &end, 10);
      if (t.empty() || *end != '\0' || errno != 0) fail(name, "'" + t + "' is not an integer");
      if (v < min_value) fail(name, "values must be at least " + std::to_string(min_value));
      return v;
    };
    if (colon == std::string::npos) {
      out.push_back(parse_int(item));
    } else {
      const long long a = parse_int(item.substr(0, colon));
      const long long b = parse_int(item.substr(colon + 1));
      if (b <= a) fail(name, "empty range '" + item + "'");
      for (long long v = a; v < b; ++v) out.push_back(v);
    }
  }
  return out;
}

std::string ArgParser::help_text() const {
  std::ostringstream os;
  os << "usage: zo " << command_ << " [options]\n\n" << summary_ << "\n\noptions:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.is_flag ? "" : " <v>");
    if (left.size() < 26) left.resize(26, ' ');
    os << left << " " << s.help;
    if (!s.is_flag && !s.default_value.empty()) os << " [default: " << s.default_value << "]";
    os << "\n";
  }
  os << "  --help                     show this text\n";
  return os.str();
}

}  // namespace zo_cli
