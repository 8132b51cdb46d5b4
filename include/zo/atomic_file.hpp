// Writing files without ever leaving a half-written one: every file zo writes goes to a temporary
// file beside its destination and is renamed over it only when complete, so a failed or
// interrupted run leaves an existing file untouched.
#pragma once

#include <string>

#include "zo/export.hpp"

namespace zo {

/// The temporary file beside `path` that write_file_atomically() and the table writers use
/// ("<path>.tmp-<process id>"), so that two processes never share one.
ZO_API std::string temporary_path_for(const std::string& path);

/// Flushes `from` to disk and renames it over `to` (same directory, so the rename is atomic);
/// throws zo::Error naming both paths on failure, leaving `to` untouched.
ZO_API void publish_file(const std::string& from, const std::string& to);

/// Writes `content` to `path` atomically (temporary file, flush to disk, rename). Creates the
/// parent directory if needed. On failure the temporary file is removed, `path` is untouched, and
/// zo::Error names the path.
ZO_API void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace zo
