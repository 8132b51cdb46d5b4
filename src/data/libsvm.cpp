// The LIBSVM / svmlight reader: the whole file is read with one read, split at line boundaries
// into one chunk per OpenMP thread, and each chunk is parsed by a hand-written scanner
// (std::from_chars for integers and floats). The chunks are concatenated in file order, so the
// result does not depend on the number of threads; the reported error is the first one in the
// file.
#include "zo/libsvm.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "zo/error.hpp"

namespace zo {
namespace {

constexpr std::uint64_t kMaxIndex = max_libsvm_index;
static_assert(kMaxIndex + 1 <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()),
              "a bias column after the last feature must fit a 32-bit index");

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Printable excerpt of a token for error messages.
std::string excerpt(const char* begin, const char* line_end) {
  std::string out;
  for (const char* p = begin; p < line_end && !is_blank(*p) && out.size() < 24; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

/// Clinger's fast path for floats. Parses [-]digits[.digits][(e|E)[+|-]digits] from `s`; when
/// the digits form an integer m < 2^24 and the decimal exponent k satisfies |k| ≤ 10, both m and
/// 10^|k| are exact floats, so m·10^k (or m/10^−k) is a single correctly rounded IEEE operation:
/// the float std::from_chars returns, at a fraction of the cost. Returns the end of the number,
/// or nullptr when the fast path does not apply (the caller then uses std::from_chars).
const char* parse_float_fast(const char* s, const char* end, float* out) {
  static constexpr float kPow10[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                     1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 24;
  const char* p = s;
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  std::uint64_t m = 0;
  int k = 0;
  bool any_digit = false;
  for (; p < end && is_digit(*p); ++p) {
    m = m * 10 + static_cast<std::uint64_t>(*p - '0');
    if (m >= kLimit) return nullptr;
    any_digit = true;
  }
  if (p < end && *p == '.') {
    ++p;
    for (; p < end && is_digit(*p); ++p) {
      m = m * 10 + static_cast<std::uint64_t>(*p - '0');
      if (m >= kLimit) return nullptr;
      --k;
      any_digit = true;
    }
  }
  if (!any_digit) return nullptr;
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char* q = p + 1;
    const bool exp_negative = q < end && *q == '-';
    if (q < end && (*q == '-' || *q == '+')) ++q;
    int e = 0, e_digits = 0;
    for (; q < end && is_digit(*q); ++q) {
      if (++e_digits > 3) return nullptr;
      e = e * 10 + (*q - '0');
    }
    if (e_digits == 0) return nullptr;  // "1e": let std::from_chars decide where it stops
    k += exp_negative ? -e : e;
    p = q;
  }
  float v = 0.0f;
  if (m != 0) {
    if (k < -10 || k > 10) return nullptr;
    v = static_cast<float>(m);
    v = k >= 0 ? v * kPow10[k] : v / kPow10[-k];
  }
  *out = negative ? -v : v;
  return p;
}

/// A parse failure inside a chunk: its position, to be turned into "file:line:col" once the
/// number of lines before the chunk is known.
struct ChunkError {
  std::size_t line_in_chunk = 0;  // 1-based
  std::size_t column = 0;         // 1-based byte column
  std::string message;
};

/// What one chunk of the text holds.
struct Chunk {
  std::vector<std::int64_t> row_nnz_end;  // cumulative entry counts within the chunk, per row
  std::vector<std::int32_t> cols;
  std::vector<float> values;
  std::vector<double> labels;
  std::vector<std::int64_t> qids;
  std::vector<std::int64_t> dropped;  // indices dropped with a non-zero value (may repeat)
  std::size_t dropped_entries = 0;
  bool any_qid = false;
  std::uint64_t max_index = 0;
  std::size_t lines = 0;  // newline-terminated lines seen (all of them when no error)
  std::optional<ChunkError> error;
};

class ChunkParser {
 public:
  ChunkParser(const char* begin, const char* end, std::uint64_t max_index, bool drop_extra,
              Chunk& out)
      : begin_(begin), end_(end), limit_(max_index), drop_extra_(drop_extra), out_(out) {}

  void parse() {
    // Exact reservations (one cheap pass): no reallocation while parsing.
    std::size_t colons = 0, newlines = 0;
    for (const char* c = begin_; c < end_; ++c) {
      colons += *c == ':';
      newlines += *c == '\n';
    }
    out_.cols.reserve(colons);
    out_.values.reserve(colons);
    out_.labels.reserve(newlines + 1);
    out_.qids.reserve(newlines + 1);
    out_.row_nnz_end.reserve(newlines + 1);
    const char* p = begin_;
    while (p < end_) {
      line_start_ = p;
      ++line_;
      const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end_ - p));
      const char* eol = nl ? static_cast<const char*>(nl) : end_;
      const char* line_end = eol;
      if (line_end > p && line_end[-1] == '\r') --line_end;
      if (!parse_line(p, line_end)) return;
      if (nl) out_.lines += 1;
      p = nl ? eol + 1 : end_;
    }
  }

 private:
  bool fail(const char* at, std::string message) {
    ChunkError e;
    e.line_in_chunk = line_;
    e.column = static_cast<std::size_t>(at - line_start_) + 1;
    e.message = std::move(message);
    out_.error = std::move(e);
    return false;
  }

  static const char* skip_blanks(const char* p, const char* end) {
    while (p < end && is_blank(*p)) ++p;
    return p;
  }

  /// True when `p` ends a field: end of line, a blank, or the start of a comment.
  static bool at_field_end(const char* p, const char* end) {
    return p == end || is_blank(*p) || *p == '#';
  }

  bool parse_label(const char* p, const char* line_end, const char** next) {
    const char* s = p;
    if (*s == '+') {
      ++s;
      if (s == line_end || *s == '-' || *s == '+')
        return fail(p, "label '" + excerpt(p, line_end) + "' is not a number");
    }
    double v = 0.0;
    const auto r = std::from_chars(s, line_end, v, std::chars_format::general);
    if (r.ec == std::errc::invalid_argument || !at_field_end(r.ptr, line_end)) {
      if (std::memchr(p, ':', static_cast<std::size_t>(line_end - p)) != nullptr &&
          r.ec != std::errc::invalid_argument && *r.ptr == ':')
        return fail(p, "missing label: the line starts with '" + excerpt(p, line_end) + "'");
      return fail(p, "label '" + excerpt(p, line_end) + "' is not a number");
    }
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow or underflow of double: the former is an error, the latter is zero.
      if (std::fabs(std::strtod(std::string(s, r.ptr).c_str(), nullptr)) > 1.0)
        return fail(p, "label '" + excerpt(p, line_end) + "' is out of range");
      v = 0.0;
    }
    if (!std::isfinite(v))
      return fail(p, "label '" + excerpt(p, line_end) + "' is NaN or infinite");
    out_.labels.push_back(v);
    *next = r.ptr;
    return true;
  }

  bool parse_value(const char* token, const char* p, const char* line_end, float* out,
                   const char** next) {
    const char* s = p;
    if (s < line_end && *s == '+') {
      ++s;
      if (s == line_end || *s == '-' || *s == '+')
        return fail(p, "value '" + excerpt(p, line_end) + "' is not a number");
    }
    if (s == line_end || at_field_end(s, line_end))
      return fail(p, "missing value after ':' in '" + excerpt(token, line_end) + "'");
    float v = 0.0f;
    if (const char* fast_end = parse_float_fast(s, line_end, &v)) {
      if (!at_field_end(fast_end, line_end))
        return fail(p, "value '" + excerpt(p, line_end) + "' is not a number");
      *out = v;
      *next = fast_end;
      return true;
    }
    const auto r = std::from_chars(s, line_end, v, std::chars_format::general);
    if (r.ec == std::errc::invalid_argument || !at_field_end(r.ptr, line_end))
      return fail(p, "value '" + excerpt(p, line_end) + "' is not a number");
    if (r.ec == std::errc::result_out_of_range) {
      const double d = std::strtod(std::string(s, r.ptr).c_str(), nullptr);
      if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
        return fail(p, "value '" + excerpt(p, line_end) + "' is out of range for a float");
      v = static_cast<float>(d);  // underflow: 0 or a subnormal
    }
    if (!std::isfinite(v))
      return fail(p, "value '" + excerpt(p, line_end) + "' is NaN or infinite");
    *out = v;
    *next = r.ptr;
    return true;
  }

  /// Parses one line [p, line_end); returns false after recording an error.
  bool parse_line(const char* p, const char* line_end) {
    p = skip_blanks(p, line_end);
    if (p == line_end || *p == '#') return true;  // blank or comment-only line: not a sample
    if (!parse_label(p, line_end, &p)) return false;

    const std::size_t row_begin = out_.values.size();
    std::int64_t qid = -1;
    bool first_field = true;
    bool sorted = true;
    std::uint64_t previous = 0;
    while (true) {
      p = skip_blanks(p, line_end);
      if (p == line_end || *p == '#') break;
      const char* token = p;
      if (first_field && line_end - p >= 4 && std::memcmp(p, "qid:", 4) == 0) {
        p += 4;
        std::uint64_t q = 0;
        const auto r = std::from_chars(p, line_end, q);
        if (p == line_end || !is_digit(*p) || r.ec != std::errc() ||
            !at_field_end(r.ptr, line_end) ||
            q > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return fail(p, "qid '" + excerpt(token, line_end) + "' is not a non-negative integer");
        qid = static_cast<std::int64_t>(q);
        out_.any_qid = true;
        p = r.ptr;
        first_field = false;
        continue;
      }
      first_field = false;
      if (*p == '-') return fail(p, "negative index in '" + excerpt(token, line_end) + "'");
      if (!is_digit(*p)) {
        return fail(p, "expected <index>:<value>, found '" + excerpt(token, line_end) + "'");
      }
      // Decimal digits by hand (at most 18 fit a uint64 without overflow checks).
      std::uint64_t index = 0;
      const char* q = p;
      for (; q < line_end && is_digit(*q) && q - p < 18; ++q)
        index = index * 10 + static_cast<std::uint64_t>(*q - '0');
      if ((q < line_end && is_digit(*q)) || index > kMaxIndex)
        return fail(p, "index '" + excerpt(token, line_end) + "' is out of range (at most " +
                           std::to_string(kMaxIndex) + ")");
      if (q == line_end || *q != ':')
        return fail(q, "expected ':' after the index in '" + excerpt(token, line_end) + "'");
      if (index == 0) return fail(p, "index 0 is not allowed (indices are 1-based)");
      const bool extra = limit_ != 0 && index > limit_;
      if (extra && !drop_extra_)
        return fail(p, "index " + std::to_string(index) + " exceeds the feature count " +
                           std::to_string(limit_));
      float value = 0.0f;
      if (!parse_value(token, q + 1, line_end, &value, &p)) return false;
      if (index == previous) return fail(token, "duplicate index " + std::to_string(index));
      if (index < previous) sorted = false;
      previous = index;
      if (extra) {  // outside the feature space: dropped, counted
        line_dropped_.push_back({index, value != 0.0f});
        continue;
      }
      out_.max_index = std::max(out_.max_index, index);
      out_.cols.push_back(static_cast<std::int32_t>(index - 1));
      out_.values.push_back(value);
    }
    if (!sorted && !sort_row(row_begin, line_end)) return false;
    if (!line_dropped_.empty() && !take_dropped(line_end)) return false;
    out_.qids.push_back(qid);
    out_.row_nnz_end.push_back(static_cast<std::int64_t>(out_.values.size()));
    return true;
  }

  /// Sorts the entries of the current row by index; reports a duplicate at its second
  /// occurrence in the line.
  bool sort_row(std::size_t row_begin, const char* line_end) {
    const std::size_t n = out_.values.size() - row_begin;
    std::vector<std::pair<std::int32_t, float>> entries(n);
    for (std::size_t k = 0; k < n; ++k)
      entries[k] = {out_.cols[row_begin + k], out_.values[row_begin + k]};
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t k = 1; k < n; ++k) {
      if (entries[k].first == entries[k - 1].first) {
        return fail(find_second_occurrence(entries[k].first, line_end),
                    "duplicate index " + std::to_string(entries[k].first + 1));
      }
    }
    for (std::size_t k = 0; k < n; ++k) {
      out_.cols[row_begin + k] = entries[k].first;
      out_.values[row_begin + k] = entries[k].second;
    }
    return true;
  }

  /// Moves the dropped entries of the current line to the chunk (after checking them for
  /// duplicates, which an unsorted line could hide).
  bool take_dropped(const char* line_end) {
    std::sort(line_dropped_.begin(), line_dropped_.end());
    for (std::size_t k = 1; k < line_dropped_.size(); ++k) {
      if (line_dropped_[k].first == line_dropped_[k - 1].first) {
        const std::uint64_t index = line_dropped_[k].first;
        line_dropped_.clear();
        return fail(find_second_occurrence(static_cast<std::int32_t>(index - 1), line_end),
                    "duplicate index " + std::to_string(index));
      }
    }
    out_.dropped_entries += line_dropped_.size();
    for (const auto& [index, nonzero] : line_dropped_)
      if (nonzero) out_.dropped.push_back(static_cast<std::int64_t>(index));
    line_dropped_.clear();
    return true;
  }

  /// Column of the second field of the current line whose index is col + 1 (for the message).
  const char* find_second_occurrence(std::int32_t col, const char* line_end) const {
    const auto wanted = static_cast<std::uint64_t>(col) + 1;
    int seen = 0;
    const char* p = line_start_;
    while (p < line_end) {
      p = skip_blanks(p, line_end);
      const char* token = p;
      while (p < line_end && !is_blank(*p)) ++p;
      std::uint64_t index = 0;
      const auto r = std::from_chars(token, p, index);
      if (r.ec == std::errc() && r.ptr < p && *r.ptr == ':' && index == wanted && ++seen == 2)
        return token;
    }
    return line_start_;
  }

  const char* begin_;
  const char* end_;
  std::uint64_t limit_;
  bool drop_extra_;
  Chunk& out_;
  std::vector<std::pair<std::uint64_t, bool>> line_dropped_;  // (index, value != 0) of this line
  const char* line_start_ = nullptr;
  std::size_t line_ = 0;
};

int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Chunk boundaries: about equal sizes, each boundary just after a newline.
std::vector<const char*> split_at_lines(const char* begin, const char* end, int parts) {
  std::vector<const char*> cuts{begin};
  const auto size = static_cast<std::size_t>(end - begin);
  for (int c = 1; c < parts; ++c) {
    const char* guess =
        begin + size * static_cast<std::size_t>(c) / static_cast<std::size_t>(parts);
    if (guess < cuts.back()) guess = cuts.back();
    const void* nl = std::memchr(guess, '\n', static_cast<std::size_t>(end - guess));
    const char* cut = nl ? static_cast<const char*>(nl) + 1 : end;
    cuts.push_back(cut);
  }
  cuts.push_back(end);
  return cuts;
}

}  // namespace

LibsvmData parse_libsvm(std::string_view text, const std::string& source_name,
                        const LibsvmOptions& options) {
  ZO_EXPECTS(options.num_features <= kMaxIndex, "LibsvmOptions::num_features must be at most " +
                                                    std::to_string(kMaxIndex) + ", got " +
                                                    std::to_string(options.num_features));
  const bool drop_extra = options.drop_extra_features && options.num_features != 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  // Small inputs are parsed by one thread: splitting costs more than it saves.
  const int parts = text.size() < (std::size_t{1} << 20) ? 1 : std::max(1, max_threads());
  const std::vector<const char*> cuts = split_at_lines(begin, end, parts);
  std::vector<Chunk> chunks(static_cast<std::size_t>(parts));
#pragma omp parallel for schedule(static, 1) num_threads(parts) if (parts > 1)
  for (int c = 0; c < parts; ++c) {
    ChunkParser(cuts[c], cuts[c + 1], options.num_features, drop_extra,
                chunks[static_cast<std::size_t>(c)])
        .parse();
  }

  // The first error in file order wins; its line number counts the lines of earlier chunks.
  std::size_t lines_before = 0;
  for (const Chunk& chunk : chunks) {
    if (chunk.error) {
      throw DataError(source_name + ":" +
                      std::to_string(lines_before + chunk.error->line_in_chunk) + ":" +
                      std::to_string(chunk.error->column) + ": " + chunk.error->message);
    }
    lines_before += chunk.lines;
  }

  LibsvmData out;
  std::size_t rows = 0, nnz = 0;
  std::uint64_t max_index = 0;
  bool any_qid = false;
  std::vector<std::size_t> row_base(chunks.size()), nnz_base(chunks.size());
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    row_base[c] = rows;
    nnz_base[c] = nnz;
    rows += chunks[c].labels.size();
    nnz += chunks[c].values.size();
    max_index = std::max(max_index, chunks[c].max_index);
    any_qid = any_qid || chunks[c].any_qid;
  }
  CsrMatrix& m = out.features;
  m.rows = rows;
  m.cols = options.num_features != 0 ? options.num_features : static_cast<std::size_t>(max_index);
  m.row_offsets.assign(rows + 1, 0);
  m.col_indices.resize(nnz);
  m.values.resize(nnz);
  out.labels.resize(rows);
  if (any_qid) out.qids.resize(rows);
  for (Chunk& chunk : chunks) {
    out.dropped_entries += chunk.dropped_entries;
    out.dropped_features.insert(out.dropped_features.end(), chunk.dropped.begin(),
                                chunk.dropped.end());
    std::vector<std::int64_t>().swap(chunk.dropped);
  }
  std::sort(out.dropped_features.begin(), out.dropped_features.end());
  out.dropped_features.erase(std::unique(out.dropped_features.begin(), out.dropped_features.end()),
                             out.dropped_features.end());
  const auto n_chunks = static_cast<std::int64_t>(chunks.size());
#pragma omp parallel for schedule(static, 1) if (n_chunks > 1)
  for (std::int64_t ci = 0; ci < n_chunks; ++ci) {
    const Chunk& chunk = chunks[static_cast<std::size_t>(ci)];
    const std::size_t r0 = row_base[static_cast<std::size_t>(ci)];
    const std::size_t k0 = nnz_base[static_cast<std::size_t>(ci)];
    std::copy(chunk.cols.begin(), chunk.cols.end(),
              m.col_indices.begin() + static_cast<std::ptrdiff_t>(k0));
    std::copy(chunk.values.begin(), chunk.values.end(),
              m.values.begin() + static_cast<std::ptrdiff_t>(k0));
    std::copy(chunk.labels.begin(), chunk.labels.end(),
              out.labels.begin() + static_cast<std::ptrdiff_t>(r0));
    if (any_qid)
      std::copy(chunk.qids.begin(), chunk.qids.end(),
                out.qids.begin() + static_cast<std::ptrdiff_t>(r0));
    for (std::size_t r = 0; r < chunk.row_nnz_end.size(); ++r)
      m.row_offsets[r0 + r + 1] = static_cast<std::int64_t>(k0) + chunk.row_nnz_end[r];
  }
  return out;
}

LibsvmData read_libsvm(const std::string& path, const LibsvmOptions& options) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) throw DataError(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  if (std::fseek(file.get(), 0, SEEK_END) != 0)
    throw DataError(path + ": cannot seek: " + std::strerror(errno));
  const long size = std::ftell(file.get());
  if (size < 0) throw DataError(path + ": cannot determine the size: " + std::strerror(errno));
  std::rewind(file.get());
  text.resize(static_cast<std::size_t>(size));
  if (size > 0 && std::fread(text.data(), 1, text.size(), file.get()) != text.size())
    throw DataError(path + ": read failed: " + std::strerror(errno));
  return parse_libsvm(text, path, options);
}

void write_libsvm(const std::string& path, const CsrMatrix& features,
                  const std::vector<double>& labels) {
  validate(features);
  ZO_EXPECTS(labels.size() == features.rows, "write_libsvm: " + std::to_string(labels.size()) +
                                                 " labels for " + std::to_string(features.rows) +
                                                 " rows");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"),
                                                       &std::fclose);
  if (!file) throw DataError(path + ": cannot open for writing: " + std::strerror(errno));
  std::string buffer;
  buffer.reserve(1 << 20);
  char num[64];
  for (std::size_t i = 0; i < features.rows; ++i) {
    ZO_EXPECTS(std::isfinite(labels[i]),
               "write_libsvm: label " + std::to_string(i) + " is not finite");
    auto r = std::to_chars(num, num + sizeof num, labels[i]);
    buffer.append(num, r.ptr);
    for (std::int64_t k = features.row_offsets[i]; k < features.row_offsets[i + 1]; ++k) {
      buffer += ' ';
      r = std::to_chars(num, num + sizeof num,
                        features.col_indices[static_cast<std::size_t>(k)] + 1);
      buffer.append(num, r.ptr);
      buffer += ':';
      r = std::to_chars(num, num + sizeof num, features.values[static_cast<std::size_t>(k)]);
      buffer.append(num, r.ptr);
    }
    buffer += '\n';
    if (buffer.size() > (1 << 20) - 4096 || i + 1 == features.rows) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size())
        throw DataError(path + ": write failed: " + std::strerror(errno));
      buffer.clear();
    }
  }
  if (std::fflush(file.get()) != 0)
    throw DataError(path + ": write failed: " + std::strerror(errno));
}

}  // namespace zo
