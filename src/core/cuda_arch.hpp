// Internal: which GPUs the CUDA code compiled into libzo can run on. Pure functions of the
// compiled architecture list (the build's CMAKE_CUDA_ARCHITECTURES, passed to the library as the
// string ZO_CUDA_ARCHITECTURES, e.g. "90" or "80-real,90") and of a device's compute capability,
// so that backend selection can refuse an unsupported GPU with a reason instead of failing at the
// first kernel launch (cudaErrorNoKernelImageForDevice). Header-only: the CPU tests check it.
//
// CMake's spelling of one entry: "90" is sm_90 SASS plus compute_90 PTX, "90-real" SASS only,
// "90-virtual" PTX only; a suffix "a" (arch-specific, "90a") or "f" (family, "100f") restricts
// where the code runs. The compatibility rules (CUDA C++ Programming Guide, "Binary
// Compatibility" and "PTX Compatibility"):
// - SASS for sm_XY runs on devices of the same major version X with minor version >= Y;
//   arch-specific SASS (sm_XYa) on compute capability X.Y only;
// - PTX for compute_XY is JIT-compiled by the driver for any device of compute capability >= X.Y;
//   arch-specific PTX (compute_XYa) only for X.Y, family PTX (compute_XYf) only for X.y, y >= Y.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace zo {
namespace detail {

/// One entry of the compiled architecture list.
struct CudaArch {
  int major = 0;       ///< 9 for "90"
  int minor = 0;       ///< 0 for "90"
  bool sass = false;   ///< real: machine code for sm_XY
  bool ptx = false;    ///< virtual: PTX for compute_XY
  char suffix = '\0';  ///< '\0', 'a' (arch-specific) or 'f' (family-specific)
};

/// Parses a comma- or semicolon-separated CMake architecture list ("75,80-real,90-virtual,90a").
/// Entries it cannot read are skipped, so an empty result means "unknown: do not check".
inline std::vector<CudaArch> parse_cuda_architectures(const std::string& list) {
  std::vector<CudaArch> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find_first_of(",;", pos);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(pos, end - pos);
    pos = end + 1;
    std::size_t i = 0;
    int number = 0;
    while (i < item.size() && item[i] >= '0' && item[i] <= '9' && number < 10000) {
      number = number * 10 + (item[i] - '0');
      ++i;
    }
    if (i == 0 || number < 10) continue;  // "", "all", "native", "OFF", ...
    CudaArch a;
    a.major = number / 10;
    a.minor = number % 10;
    if (i < item.size() && (item[i] == 'a' || item[i] == 'f')) a.suffix = item[i++];
    const std::string kind = item.substr(i);
    if (kind.empty()) {
      a.sass = a.ptx = true;
    } else if (kind == "-real") {
      a.sass = true;
    } else if (kind == "-virtual") {
      a.ptx = true;
    } else {
      continue;
    }
    out.push_back(a);
  }
  return out;
}

/// True when a device of compute capability major.minor can run code of entry `a`.
inline bool arch_runs_on(const CudaArch& a, int major, int minor) {
  const bool same_major_newer_minor = major == a.major && minor >= a.minor;
  const bool exact = major == a.major && minor == a.minor;
  if (a.sass && (a.suffix == 'a' ? exact : same_major_newer_minor)) return true;
  if (a.ptx) {
    if (a.suffix == 'a') return exact;
    if (a.suffix == 'f') return same_major_newer_minor;
    return major > a.major || same_major_newer_minor;  // JIT forward compatibility
  }
  return false;
}

/// True when a device of compute capability major.minor can run the compiled code. An empty list
/// (architectures unknown, e.g. CMAKE_CUDA_ARCHITECTURES=OFF) accepts every device.
inline bool arch_supported(int major, int minor, const std::vector<CudaArch>& compiled) {
  if (compiled.empty()) return true;
  for (const CudaArch& a : compiled) {
    if (arch_runs_on(a, major, minor)) return true;
  }
  return false;
}

/// "sm_90", "sm_100": the conventional name of a compute capability.
inline std::string sm_name(int major, int minor) {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

/// Which devices the compiled list runs on, in words: "sm_90 and newer" for "90",
/// "sm_80 to sm_89, sm_90 only" for "80-real,90a-real". Empty for an empty list.
inline std::string describe_cuda_support(const std::vector<CudaArch>& compiled) {
  // The lowest plain PTX entry covers every device at or above it.
  int lowest_ptx = -1;  // as 10 * major + minor
  for (const CudaArch& a : compiled) {
    const int cc = 10 * a.major + a.minor;
    if (a.ptx && a.suffix == '\0' && (lowest_ptx < 0 || cc < lowest_ptx)) lowest_ptx = cc;
  }
  std::vector<std::string> parts;
  auto add = [&parts](const std::string& s) {
    for (const std::string& p : parts) {
      if (p == s) return;
    }
    parts.push_back(s);
  };
  for (const CudaArch& a : compiled) {
    const int cc = 10 * a.major + a.minor;
    if (lowest_ptx >= 0 && cc >= lowest_ptx) continue;  // covered by that PTX
    if (a.suffix == 'a') {
      add(sm_name(a.major, a.minor) + "a only");
    } else if (a.ptx && a.suffix == '\0') {
      add(sm_name(a.major, a.minor) + " and newer");
    } else if (a.minor == 9) {
      add(sm_name(a.major, a.minor));
    } else {
      add(sm_name(a.major, a.minor) + " to " + sm_name(a.major, 9));
    }
  }
  if (lowest_ptx >= 0) add(sm_name(lowest_ptx / 10, lowest_ptx % 10) + " and newer");
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

/// The reason a device cannot run the compiled code, e.g. "NVIDIA T4 is sm_75, but this libzo
/// was built for sm_90 and newer (CMAKE_CUDA_ARCHITECTURES=90)"; empty when it can.
/// `setting` is CMAKE_CUDA_ARCHITECTURES as the build spelled it.
inline std::string arch_unsupported_reason(const std::string& device_name, int major, int minor,
                                           const std::vector<CudaArch>& compiled,
                                           const std::string& setting) {
  if (arch_supported(major, minor, compiled)) return {};
  return device_name + " is " + sm_name(major, minor) + ", but this libzo was built for " +
         describe_cuda_support(compiled) + " (CMAKE_CUDA_ARCHITECTURES=" + setting +
         "); rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(major) +
         std::to_string(minor) + " (or add it to the list)";
}

}  // namespace detail
}  // namespace zo
