// Reading and writing a single point x ∈ R^d (float32), e.g. for `zo trace --point FILE`.
//
// Text format (any extension except .f32): decimal numbers separated by whitespace and/or
// commas, any number per line; '#' starts a comment that runs to the end of the line; blank
// lines are ignored. Every number must be a finite value representable in float32 (after
// rounding to nearest). Example:
//
//     # zo point, dim = 4
//     0.5, -1.25
//     3e-2 7
//
// Binary format (extension .f32): the d values as raw little-endian IEEE-754 float32, no header;
// the file size must be a multiple of 4.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "zo/export.hpp"

namespace zo {

/// Reads a point file (format above). Throws zo::DataError naming the file, line and column of
/// the first malformed or non-finite number (or the byte size of a bad .f32 file), and when the
/// file cannot be opened or holds no number.
ZO_API std::vector<float> read_point_file(const std::string& path);

/// Writes x (dim floats) as text (9 significant digits, which round-trips float32; one value per
/// line after a "# zo point, dim = D" comment) or, for a .f32 path, as raw float32, atomically
/// (zo/atomic_file.hpp). Throws zo::Error when the file cannot be written.
ZO_API void write_point_file(const std::string& path, const float* x, std::size_t dim);

}  // namespace zo
