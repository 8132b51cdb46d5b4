// Internal: the binary serialisation of sweep checkpoints (host byte order; checkpoints are not
// portable files), shared by the sweep state (its contents) and the file driver (the file).
#pragma once

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "zo/error.hpp"
#include "zo/sweep.hpp"

namespace zo {
namespace detail {

template <typename T>
inline void put(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
inline void put_vec(std::ostream& out, const std::vector<T>& v) {
  put<std::uint64_t>(out, v.size());
  if (!v.empty()) out.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
inline void put_str(std::ostream& out, const std::string& s) {
  put<std::uint64_t>(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
template <typename T>
inline T get(std::istream& in) {
  T v{};
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  if (!in) ZO_FAIL(InvalidArgument, "checkpoint is truncated or unreadable");
  return v;
}
template <typename T>
inline std::vector<T> get_vec(std::istream& in, std::uint64_t max_size) {
  const auto n = get<std::uint64_t>(in);
  if (n > max_size) ZO_FAIL(InvalidArgument, "checkpoint is corrupt (implausible array size)");
  // Never allocate more than the stream still holds (a corrupt length must not exhaust memory).
  const auto here = in.tellg();
  if (here != std::istream::pos_type(-1)) {
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    in.seekg(here);
    if (end != std::istream::pos_type(-1) && n > static_cast<std::uint64_t>(end - here) / sizeof(T))
      ZO_FAIL(InvalidArgument, "checkpoint is corrupt (array longer than the file)");
  }
  std::vector<T> v(n);
  if (n) in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
  if (!in) ZO_FAIL(InvalidArgument, "checkpoint is truncated or unreadable");
  return v;
}
inline std::string get_str(std::istream& in) {
  const auto n = get<std::uint64_t>(in);
  if (n > (1u << 26)) ZO_FAIL(InvalidArgument, "checkpoint is corrupt (implausible string size)");
  std::string s(n, '\0');
  in.read(&s[0], static_cast<std::streamsize>(n));
  if (!in) ZO_FAIL(InvalidArgument, "checkpoint is truncated or unreadable");
  return s;
}

inline void put_rows(std::ostream& out, const SweepRows& r) {
  put<std::uint64_t>(out, r.metric_count);
  put_vec(out, r.run);
  put_vec(out, r.iteration);
  put_vec(out, r.loss);
  put_vec(out, r.trace);
  put_vec(out, r.metrics);
  put_vec(out, r.diverged);
  put_vec(out, r.diverged_at);
}
inline SweepRows get_rows(std::istream& in) {
  constexpr std::uint64_t kMax = std::uint64_t{1} << 34;
  SweepRows r;
  r.metric_count = get<std::uint64_t>(in);
  r.run = get_vec<std::uint64_t>(in, kMax);
  r.iteration = get_vec<std::uint64_t>(in, kMax);
  r.loss = get_vec<double>(in, kMax);
  r.trace = get_vec<double>(in, kMax);
  r.metrics = get_vec<double>(in, kMax);
  r.diverged = get_vec<std::uint8_t>(in, kMax);
  r.diverged_at = get_vec<std::uint64_t>(in, kMax);
  const std::size_t n = r.run.size();
  if (r.iteration.size() != n || r.loss.size() != n || r.trace.size() != n ||
      r.metrics.size() != n * r.metric_count || r.diverged.size() != n || r.diverged_at.size() != n)
    ZO_FAIL(InvalidArgument, "checkpoint is corrupt (inconsistent row table)");
  return r;
}

inline std::uint32_t float_bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

/// The first bytes of a sweep state written by Sweep::save().
inline constexpr char kCheckpointMagic[8] = {'Z', 'O', 'S', 'W', 'E', 'E', 'P', '1'};

}  // namespace detail
}  // namespace zo
