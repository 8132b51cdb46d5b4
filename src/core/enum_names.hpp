// Internal: the names of zo's enums, one table per enum, for to_string() and parse_*(): the first
// name listed for a value is its canonical name, later ones are accepted aliases, and an unknown
// name is an error that lists the canonical names.
#pragma once

#include <cstddef>
#include <string>

#include "zo/error.hpp"

namespace zo {
namespace detail {

/// One accepted name of an enum value.
template <typename E>
struct EnumName {
  E value;
  const char* name;
};

/// The canonical name of `value` in `table`, or "?" for a value the table lacks.
template <typename E, std::size_t N>
const char* enum_to_string(const EnumName<E> (&table)[N], E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

/// The value named `text` in `table`; throws zo::InvalidArgument "unknown <what> '<text>'
/// (expected a, b or c)" listing the canonical names otherwise.
template <typename E, std::size_t N>
E enum_parse(const EnumName<E> (&table)[N], const std::string& text, const char* what) {
  for (const auto& entry : table) {
    if (text == entry.name) return entry.value;
  }
  std::string names;
  std::size_t count = 0;
  for (std::size_t i = 0; i < N; ++i) {
    bool canonical = true;
    for (std::size_t j = 0; j < i; ++j) canonical = canonical && table[j].value != table[i].value;
    if (!canonical) continue;
    ++count;
    names += names.empty() ? "" : ", ";
    names += table[i].name;
  }
  // "a, b, c" → "a, b or c"
  const auto last = names.rfind(", ");
  if (count > 1 && last != std::string::npos) names.replace(last, 2, " or ");
  ZO_FAIL(InvalidArgument,
          std::string("unknown ") + what + " '" + text + "' (expected " + names + ")");
}

}  // namespace detail
}  // namespace zo
