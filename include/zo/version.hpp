// Library version.
#pragma once

#include <string>

#include "zo/export.hpp"

#define ZO_VERSION_MAJOR 0
#define ZO_VERSION_MINOR 2
#define ZO_VERSION_PATCH 0

namespace zo {
/// The version of the libzo that is linked ("0.2.0"); compare with ZO_VERSION_* at compile time.
ZO_API const char* version();

/// One line on how the linked libzo was built, e.g. "libzo 0.2.0; cuda: compiled for sm_90 and
/// newer (CMAKE_CUDA_ARCHITECTURES=90); cpu: x86-64-v3 (-mavx2 -mfma)": whether the CUDA backend
/// is compiled in and for which GPUs, and which CPU copy of the library the dynamic loader picked
/// ("x86-64 (baseline)", or "x86-64-v3 (-mavx2 -mfma)" from glibc-hwcaps/x86-64-v3 on CPUs that
/// have AVX2 and FMA). Touches no GPU.
ZO_API std::string build_summary();
}  // namespace zo
