// Library version.
#pragma once

#include "zo/export.hpp"

#define ZO_VERSION_MAJOR 0
#define ZO_VERSION_MINOR 1
#define ZO_VERSION_PATCH 0

namespace zo {
/// The version of the libzo that is linked ("0.1.0"); compare with ZO_VERSION_* at compile time.
ZO_API const char* version();
}  // namespace zo
