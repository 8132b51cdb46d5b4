// A seeded random-mutation fuzz loop for the LIBSVM reader. Valid files are mutated (bytes
// replaced, tokens inserted, ranges deleted or duplicated, files spliced); every input must either
// parse into a valid matrix that survives a write/read round trip, or be rejected with a
// zo::DataError "fuzz.svm:<line>:<column>: ..." that points inside the input. Anything else (a
// crash, another exception, a bad position) fails. Fixed seed and iteration count: the same
// inputs on every run (about two seconds here). tests/fuzz/libsvm_fuzzer.cpp is the libFuzzer
// version of the same checks.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "zo/error.hpp"
#include "zo/libsvm.hpp"

namespace {

const char* const kSeeds[] = {
    "+1 1:0.5 3:2\n-1 2:1e-3\n",
    "1 qid:3 1:1 2:2\n0 qid:4 2:1\n1 2:5 # comment\n",
    "# header\r\n-1 5:1\t1:1 9:-2.5e-3\r\n\r\n2.5 7:+3 8:.5 9:5.\r\n",
    "0\n1\n-1 1:0\n",
    "1 1:1e-40 2:3.4028234e38 3:-0 100:1\n-1 99:1 98:2 97:3\n",
};

const char* const kTokens[] = {
    "nan",          "inf",          "-inf", "1e39", "1e-50", ":",  "::", "qid:", "0:", "-1:",
    "99999999999:", "2147483647:1", "\r\n", "#",    " ",     "\t", "+",  "-",    ".",  "e",
    "0x1p3",        "1:1 1:1",      "\n\n", "\r",   "3:"};

const char kAlphabet[] = "0123456789:+-.eE# \t\n\rnaifqdx";

/// Applies 1–4 random mutations to `text`.
std::string mutate(std::string text, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  const int mutations = 1 + static_cast<int>(rng() % 4);
  for (int m = 0; m < mutations; ++m) {
    switch (rng() % 6) {
      case 0:  // replace a byte with an interesting character
        if (!text.empty()) text[pick(text.size())] = kAlphabet[pick(sizeof kAlphabet - 1)];
        break;
      case 1:  // replace a byte with any byte
        if (!text.empty()) text[pick(text.size())] = static_cast<char>(rng() & 0xFF);
        break;
      case 2:  // insert a token
        text.insert(pick(text.size() + 1), kTokens[pick(std::size(kTokens))]);
        break;
      case 3: {  // delete a range
        if (text.empty()) break;
        const std::size_t a = pick(text.size());
        text.erase(a, 1 + pick(8));
        break;
      }
      case 4: {  // duplicate a range
        if (text.empty()) break;
        const std::size_t a = pick(text.size());
        const std::size_t len = 1 + pick(12);
        text.insert(pick(text.size() + 1), text.substr(a, len));
        break;
      }
      default:  // splice with another seed
        text = text.substr(0, pick(text.size() + 1)) +
               std::string(kSeeds[pick(std::size(kSeeds))]).substr(pick(8));
        break;
    }
  }
  return text;
}

/// Serialises parsed data back to LIBSVM text (shortest round-trip forms).
std::string serialise(const zo::LibsvmData& d) {
  std::string out;
  char buf[64];
  for (std::size_t i = 0; i < d.features.rows; ++i) {
    out.append(buf, std::to_chars(buf, buf + 64, d.labels[i]).ptr);
    if (!d.qids.empty() && d.qids[i] >= 0) {
      out += " qid:";
      out.append(buf, std::to_chars(buf, buf + 64, d.qids[i]).ptr);
    }
    for (auto k = d.features.row_offsets[i]; k < d.features.row_offsets[i + 1]; ++k) {
      out += ' ';
      out.append(buf, std::to_chars(buf, buf + 64, d.features.col_indices[k] + 1).ptr);
      out += ':';
      out.append(buf, std::to_chars(buf, buf + 64, d.features.values[k]).ptr);
    }
    out += '\n';
  }
  return out;
}

/// Checks one input; returns a description of the failure, or "" when the reader behaved.
std::string check_input(const std::string& text, std::size_t num_features) {
  zo::LibsvmOptions options;
  options.num_features = num_features;
  zo::LibsvmData d;
  try {
    d = zo::parse_libsvm(text, "fuzz.svm", options);
  } catch (const zo::DataError& e) {
    // "fuzz.svm:<line>:<col>: message" with the position inside the input.
    const std::string msg = e.what();
    unsigned long line = 0, col = 0;
    if (std::sscanf(msg.c_str(), "fuzz.svm:%lu:%lu: ", &line, &col) != 2)
      return "malformed error message: " + msg;
    std::vector<std::size_t> line_lengths{0};
    for (char c : text) {
      if (c == '\n') {
        line_lengths.push_back(0);
      } else {
        ++line_lengths.back();
      }
    }
    if (line < 1 || line > line_lengths.size()) return "line out of range: " + msg;
    if (col < 1 || col > line_lengths[line - 1] + 1) return "column out of range: " + msg;
    return "";
  } catch (const std::exception& e) {
    return std::string("unexpected exception: ") + e.what();
  }
  try {
    zo::validate(d.features);
  } catch (const std::exception& e) {
    return std::string("accepted input gives an invalid matrix: ") + e.what();
  }
  if (d.labels.size() != d.features.rows) return "label count differs from the row count";
  for (double l : d.labels)
    if (!std::isfinite(l)) return "accepted a non-finite label";
  if (!d.qids.empty() && d.qids.size() != d.features.rows) return "qid count differs";
  if (num_features != 0 && d.features.cols != num_features) return "feature count not honoured";
  // Round trip: what was accepted is re-read identically.
  zo::LibsvmData again;
  try {
    again = zo::parse_libsvm(serialise(d), "again", options);
  } catch (const std::exception& e) {
    return std::string("round trip rejected: ") + e.what();
  }
  if (again.labels != d.labels || again.features.row_offsets != d.features.row_offsets ||
      again.features.col_indices != d.features.col_indices ||
      again.features.values.size() != d.features.values.size())
    return "round trip changed the data";
  for (std::size_t k = 0; k < d.features.values.size(); ++k)
    if (std::memcmp(&again.features.values[k], &d.features.values[k], sizeof(float)) != 0)
      return "round trip changed a value";
  return "";
}

}  // namespace

TEST(LibsvmFuzz, MutatedInputsAreParsedOrRejectedWithAPosition) {
  std::mt19937_64 rng(20250605);
  constexpr int kIterations = 150000;
  int accepted = 0, rejected = 0;
  for (int it = 0; it < kIterations; ++it) {
    std::string text = kSeeds[rng() % std::size(kSeeds)];
    // Grow some inputs by mutating repeatedly.
    const int rounds = 1 + static_cast<int>(rng() % 3);
    for (int r = 0; r < rounds; ++r) text = mutate(text, rng);
    const std::size_t num_features = rng() % 4 == 0 ? 100 : 0;
    const std::string failure = check_input(text, num_features);
    ASSERT_EQ(failure, "") << "iteration " << it << ", input (" << text.size() << " bytes): '"
                           << text << "'";
    try {
      zo::LibsvmOptions o;
      o.num_features = num_features;
      zo::parse_libsvm(text, "fuzz.svm", o);
      ++accepted;
    } catch (const zo::DataError&) {
      ++rejected;
    }
  }
  // Both outcomes must be exercised, or the loop tests nothing.
  EXPECT_GT(accepted, kIterations / 20);
  EXPECT_GT(rejected, kIterations / 20);
  std::printf("fuzz: %d inputs accepted, %d rejected\n", accepted, rejected);
}
