// A small command-line option parser for the zo tool: `--name value` or `--name=value`, typed
// getters that validate and name the offending option, and generated --help text.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace zo_cli {

/// A user error on the command line: printed as one line, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Declares options, parses argv, and hands out validated values.
class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  /// Declares an option taking a value, with its default and help text.
  void option(const std::string& name, const std::string& default_value, const std::string& help);
  /// Declares a boolean flag (no value).
  void flag(const std::string& name, const std::string& help);

  /// Parses args (without the program and subcommand names). Returns false when --help was
  /// given (the help text has then been printed to stdout).
  bool parse(const std::vector<std::string>& args);

  std::string str(const std::string& name) const;
  bool has_flag(const std::string& name) const;
  /// True when the user gave the option explicitly.
  bool given(const std::string& name) const;
  long long integer(const std::string& name, long long min_value) const;
  double number(const std::string& name) const;
  /// A number that must be finite and > 0.
  double positive(const std::string& name) const;
  /// A comma-separated list of numbers, each finite, > 0 and given once.
  std::vector<double> positive_list(const std::string& name) const;
  /// positive() that must also be a normal float32 value (no overflow to inf, no underflow).
  float positive_float(const std::string& name) const;
  /// positive_list() of normal float32 values that stay distinct as float32.
  std::vector<float> positive_float_list(const std::string& name) const;
  /// An unsigned 64-bit integer (seeds take the full range).
  std::uint64_t unsigned_integer(const std::string& name) const;
  /// A comma-separated list of unsigned 64-bit integers or ranges a:b (b exclusive), at most
  /// `max_count` values in all, each given once.
  std::vector<std::uint64_t> unsigned_list(const std::string& name, std::size_t max_count) const;
  /// A comma-separated list of strings.
  std::vector<std::string> list(const std::string& name) const;
  /// A comma-separated list of integers, or ranges a:b (b exclusive), each ≥ min_value.
  std::vector<long long> integer_list(const std::string& name, long long min_value) const;

  /// `text` (an item of option `name`) parsed by `parse`, one of zo's parse_* functions; an
  /// exception becomes a UsageError naming the option.
  template <typename Parse>
  auto parsed(const std::string& name, const std::string& text, Parse parse) const
      -> decltype(parse(text)) {
    try {
      return parse(text);
    } catch (const std::exception& e) {
      fail(name, e.what());
    }
  }
  /// The value of option `name` parsed by `parse` (see above).
  template <typename Parse>
  auto parsed(const std::string& name, Parse parse) const -> decltype(parse(std::string())) {
    return parsed(name, str(name), parse);
  }

  std::string help_text() const;
  /// The command's name ("toy", "sweep", ...).
  const std::string& command() const { return command_; }

 private:
  struct Spec {
    std::string default_value;
    std::string help;
    bool is_flag = false;
  };
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;

  std::string command_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

/// Splits "a,b,c" on commas (empty items are kept so the caller can reject them).
std::vector<std::string> split_commas(const std::string& text);

}  // namespace zo_cli
