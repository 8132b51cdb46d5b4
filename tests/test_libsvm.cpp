// The LIBSVM reader against handwritten inputs: every rule of zo/libsvm.hpp, and every malformed
// case with the file, line and column its error must name.
#include <gtest/gtest.h>
#include <omp.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "zo/error.hpp"
#include "zo/libsvm.hpp"

namespace {

zo::LibsvmData parse(const std::string& text, std::size_t num_features = 0) {
  zo::LibsvmOptions o;
  o.num_features = num_features;
  return zo::parse_libsvm(text, "in.svm", o);
}

/// The message of the DataError that parsing `text` throws ("" if it does not throw).
std::string error_of(const std::string& text, std::size_t num_features = 0) {
  try {
    parse(text, num_features);
  } catch (const zo::DataError& e) {
    return e.what();
  }
  return "";
}

/// Expects parsing to fail at line:col with a message containing `what`.
void expect_error(const std::string& text, int line, int col, const std::string& what,
                  std::size_t num_features = 0) {
  const std::string msg = error_of(text, num_features);
  const std::string where = "in.svm:" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  EXPECT_EQ(msg.rfind(where, 0), 0u)
      << "input: '" << text << "'\nmessage: '" << msg << "'\nexpected prefix: '" << where << "'";
  EXPECT_NE(msg.find(what), std::string::npos)
      << "input: '" << text << "'\nmessage: '" << msg << "' lacks '" << what << "'";
}

std::vector<float> row_values(const zo::CsrMatrix& m, std::size_t i) {
  return {m.values.begin() + m.row_offsets[i], m.values.begin() + m.row_offsets[i + 1]};
}
std::vector<std::int32_t> row_cols(const zo::CsrMatrix& m, std::size_t i) {
  return {m.col_indices.begin() + m.row_offsets[i], m.col_indices.begin() + m.row_offsets[i + 1]};
}

}  // namespace

TEST(LibsvmRead, BasicSortedFile) {
  const auto d = parse("+1 1:0.5 3:2\n-1 2:1e-3\n");
  ASSERT_EQ(d.features.rows, 2u);
  EXPECT_EQ(d.features.cols, 3u);
  EXPECT_EQ(d.labels, (std::vector<double>{1.0, -1.0}));
  EXPECT_EQ(row_cols(d.features, 0), (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(row_values(d.features, 0), (std::vector<float>{0.5f, 2.0f}));
  EXPECT_EQ(row_cols(d.features, 1), (std::vector<std::int32_t>{1}));
  EXPECT_EQ(row_values(d.features, 1), (std::vector<float>{1e-3f}));
  EXPECT_TRUE(d.qids.empty());
  zo::validate(d.features);
}

TEST(LibsvmRead, UnsortedIndicesAreSorted) {
  const auto d = parse("1 3:3 1:1 2:2 7:7\n");
  EXPECT_EQ(row_cols(d.features, 0), (std::vector<std::int32_t>{0, 1, 2, 6}));
  EXPECT_EQ(row_values(d.features, 0), (std::vector<float>{1, 2, 3, 7}));
  EXPECT_EQ(d.features.cols, 7u);
}

TEST(LibsvmRead, QidIsOptionalAndRecorded) {
  const auto d = parse("1 qid:3 1:1\n0 qid:4 2:1\n1 2:5\n");
  EXPECT_EQ(d.qids, (std::vector<std::int64_t>{3, 4, -1}));
  EXPECT_EQ(d.features.rows, 3u);
}

TEST(LibsvmRead, CommentsBlankLinesCrlfTabsAndMissingFinalNewline) {
  const auto d =
      parse("# a header comment\r\n1 1:1 # trailing comment\r\n\r\n  \t \n-1\t2:2#c\n1 3:3");
  ASSERT_EQ(d.features.rows, 3u);
  EXPECT_EQ(d.labels, (std::vector<double>{1, -1, 1}));
  EXPECT_EQ(row_cols(d.features, 1), (std::vector<std::int32_t>{1}));
  EXPECT_EQ(row_values(d.features, 2), (std::vector<float>{3.0f}));
}

TEST(LibsvmRead, LabelForms) {
  const auto d = parse("-1\n+1\n0\n1\n2.5\n1e3\n+0.5\n-7.25e-1\n");
  EXPECT_EQ(d.labels, (std::vector<double>{-1, 1, 0, 1, 2.5, 1000, 0.5, -0.725}));
  EXPECT_EQ(d.features.nnz(), 0u);  // label-only lines are samples with no features
  EXPECT_EQ(d.features.cols, 0u);
}

TEST(LibsvmRead, ValueFormsExplicitZerosUnderflowAndSubnormals) {
  const auto d = parse("1 1:.5 2:5. 3:-1e-3 4:+2 5:0 6:1e-60 7:1e-40 8:-0\n");
  const auto v = row_values(d.features, 0);
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[0], 0.5f);
  EXPECT_EQ(v[1], 5.0f);
  EXPECT_EQ(v[2], -1e-3f);
  EXPECT_EQ(v[3], 2.0f);
  EXPECT_EQ(v[4], 0.0f);    // explicit zeros are kept as entries
  EXPECT_EQ(v[5], 0.0f);    // underflow below the smallest subnormal
  EXPECT_EQ(v[6], 1e-40f);  // a subnormal float
  EXPECT_TRUE(std::signbit(v[7]));
  EXPECT_EQ(parse("1 1:3.4028234e38\n").features.values[0], std::numeric_limits<float>::max());
}

TEST(LibsvmRead, FixedFeatureCount) {
  const auto d = parse("1 2:1\n", 123);
  EXPECT_EQ(d.features.cols, 123u);
  expect_error("1 2:1\n-1 124:1\n", 2, 4, "index 124 exceeds the feature count 123", 123);
}

// The largest index is 2^31 − 2 (column 2^31 − 3, and a bias column after it, fit a 32-bit
// index); 2^31 − 1 is an error at its file:line:column. Accepting the largest index allocates
// nothing for it: the CSR matrix only records the width.
TEST(LibsvmRead, LargestIndexAndNothingAllocatedForIt) {
  EXPECT_EQ(zo::max_libsvm_index, 2147483646u);
  const auto d = parse("1 2147483646:1\n-1 1:2\n");
  EXPECT_EQ(d.features.cols, 2147483646u);
  EXPECT_EQ(d.features.col_indices, (std::vector<std::int32_t>{2147483645, 0}));
  expect_error("1 1:1\n-1 3:1 2147483647:1\n", 2, 8, "out of range (at most 2147483646)");
  zo::LibsvmOptions o;
  o.num_features = zo::max_libsvm_index + 1;
  EXPECT_THROW(zo::parse_libsvm("1 1:1\n", "in.svm", o), zo::InvalidArgument);
}

// drop_extra_features reads a file into a given feature space: larger indices are dropped (values
// still checked), counted, and listed when non-zero; the width is num_features, not the largest
// index, so an index of 10^8 costs nothing.
TEST(LibsvmRead, DropExtraFeatures) {
  zo::LibsvmOptions o;
  o.num_features = 3;
  o.drop_extra_features = true;
  const auto d = zo::parse_libsvm("1 1:1 5:2 100000000:3\n-1 7:0 2:1\n1 5:-1 3:0.5\n", "in.svm", o);
  EXPECT_EQ(d.features.cols, 3u);
  EXPECT_EQ(d.features.rows, 3u);
  EXPECT_EQ(d.features.row_offsets, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(d.features.col_indices, (std::vector<std::int32_t>{0, 1, 2}));
  EXPECT_EQ(d.features.values, (std::vector<float>{1, 1, 0.5f}));
  EXPECT_EQ(d.dropped_entries, 4u);
  EXPECT_EQ(d.dropped_features, (std::vector<std::int64_t>{5, 100000000}));  // 7:0 is no feature
  // Dropped fields are still checked: malformed values, duplicates (also in unsorted lines).
  const auto error = [&](const std::string& text) -> std::string {
    try {
      zo::parse_libsvm(text, "in.svm", o);
    } catch (const zo::DataError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error("1 9:x\n").rfind("in.svm:1:5: value 'x' is not a number", 0), 0u);
  EXPECT_EQ(error("1 9:1 2:1 9:2\n").rfind("in.svm:1:11: duplicate index 9", 0), 0u);
  EXPECT_EQ(error("1 2147483647:1\n").rfind("in.svm:1:3: index", 0), 0u);
  // Without the option the same file is an error, and with num_features = 0 nothing is dropped.
  o.drop_extra_features = false;
  EXPECT_NE(error("1 1:1 5:2\n").find("index 5 exceeds the feature count 3"), std::string::npos);
  o.num_features = 0;
  o.drop_extra_features = true;
  const auto all = zo::parse_libsvm("1 1:1 5:2\n", "in.svm", o);
  EXPECT_EQ(all.features.cols, 5u);
  EXPECT_EQ(all.dropped_entries, 0u);
}

TEST(LibsvmRead, EmptyInputs) {
  EXPECT_EQ(parse("").features.rows, 0u);
  EXPECT_EQ(parse("\n\n# only comments\n").features.rows, 0u);
}

TEST(LibsvmMalformed, Labels) {
  expect_error("abc 1:1\n", 1, 1, "label 'abc' is not a number");
  expect_error("1 1:1\nnan 1:1\n", 2, 1, "NaN or infinite");
  expect_error("inf 1:1\n", 1, 1, "NaN or infinite");
  expect_error("-infinity\n", 1, 1, "NaN or infinite");
  expect_error("1e999 1:1\n", 1, 1, "out of range");
  expect_error("+-1 1:1\n", 1, 1, "not a number");
  expect_error("1x 1:1\n", 1, 1, "not a number");
  expect_error("0x1p3 1:1\n", 1, 1, "not a number");
  expect_error("1:1 2:2\n", 1, 1, "missing label");
  expect_error("  3:0.5\n", 1, 3, "missing label");
}

TEST(LibsvmMalformed, Indices) {
  expect_error("1 0:1\n", 1, 3, "index 0 is not allowed");
  expect_error("1 -2:1\n", 1, 3, "negative index");
  expect_error("1 99999999999:1\n", 1, 3, "out of range");
  expect_error("1 2147483648:1\n", 1, 3, "out of range");
  expect_error("1 abc\n", 1, 3, "expected <index>:<value>");
  expect_error("1 +2:1\n", 1, 3, "expected <index>:<value>");
  expect_error("1 2 3:1\n", 1, 4, "expected ':'");
  expect_error("1 2;1\n", 1, 4, "expected ':'");
  expect_error("1 1:1 qid:3\n", 1, 7, "expected <index>:<value>");
  expect_error("1 1:1 :5\n", 1, 7, "expected <index>:<value>");
}

TEST(LibsvmMalformed, DuplicateIndicesNameTheSecondOccurrence) {
  expect_error("1 2:1 2:3\n", 1, 7, "duplicate index 2");
  expect_error("1 3:1 1:1 3:2\n", 1, 11, "duplicate index 3");
  expect_error("-1 5:1\t1:1   5:2 9:1\n", 1, 14, "duplicate index 5");
}

TEST(LibsvmMalformed, Values) {
  expect_error("1 2:abc\n", 1, 5, "value 'abc' is not a number");
  expect_error("1 2:nan\n", 1, 5, "NaN or infinite");
  expect_error("1 2:NaN\n", 1, 5, "NaN or infinite");
  expect_error("1 2:inf\n", 1, 5, "NaN or infinite");
  expect_error("1 2:-inf\n", 1, 5, "NaN or infinite");
  expect_error("1 2:infinity\n", 1, 5, "NaN or infinite");
  expect_error("1 2:1e39\n", 1, 5, "out of range for a float");
  expect_error("1 2:-3.5e38\n", 1, 5, "out of range for a float");
  expect_error("1 2:\n", 1, 5, "missing value");
  expect_error("1 2: 3:1\n", 1, 5, "missing value");
  expect_error("1 2:#c\n", 1, 5, "missing value");
  expect_error("1 2:3:4\n", 1, 5, "not a number");
  expect_error("1 1:0x10\n", 1, 5, "not a number");
  expect_error("1 1:1e\n", 1, 5, "not a number");
  expect_error("1 1:++1\n", 1, 5, "not a number");
  expect_error("1 1:+-1\n", 1, 5, "not a number");
  expect_error("1 1:1,5\n", 1, 5, "not a number");
  expect_error("1 1:1\r2:2\n", 1, 5, "not a number");  // a lone CR is not a separator
  expect_error(std::string("1 1:1\0 2:2\n", 11), 1, 5, "not a number");
}

TEST(LibsvmMalformed, Qid) {
  expect_error("1 qid:x 1:1\n", 1, 7, "qid");
  expect_error("1 qid:-3 1:1\n", 1, 7, "qid");
  expect_error("1 qid: 1:1\n", 1, 7, "qid");
  expect_error("1 qid:3x 1:1\n", 1, 7, "qid");
}

TEST(LibsvmMalformed, LineNumbersCountCommentsBlankLinesAndCrlf) {
  expect_error("# c\r\n\r\n1 1:1\r\n-1 4:0\r\n1 0:2\r\n", 5, 3, "index 0");
  expect_error("1 1:1\n\n\n   \n1 1:x", 5, 5, "not a number");
}

TEST(LibsvmFile, ErrorsNameTheFile) {
  const std::string dir = testing::TempDir();
  const std::string path = dir + "/zo_libsvm_bad.svm";
  {
    std::ofstream f(path);
    f << "1 1:1\n1 2:2\n-1 2:1 2:1\n";
  }
  try {
    zo::read_libsvm(path);
    FAIL() << "no error";
  } catch (const zo::DataError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":3:8: duplicate index 2", 0), 0u) << e.what();
  }
  try {
    zo::read_libsvm(dir + "/no/such/file.svm");
    FAIL() << "no error";
  } catch (const zo::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/file.svm: cannot open"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(LibsvmFile, WriteThenReadReturnsTheSameFloats) {
  zo::CsrMatrix m;
  m.rows = 3;
  m.cols = 1000;
  m.row_offsets = {0, 3, 3, 5};
  m.col_indices = {0, 17, 999, 5, 6};
  m.values = {0.1f, -3.3333333f, 1e-40f, 123456.789f, -0.0f};
  const std::vector<double> labels{1.0, -1.0, 0.30000000000000004};
  const std::string path = testing::TempDir() + "/zo_libsvm_roundtrip.svm";
  zo::write_libsvm(path, m, labels);
  zo::LibsvmOptions o;
  o.num_features = 1000;
  const auto d = zo::read_libsvm(path, o);
  EXPECT_EQ(d.labels, labels);
  EXPECT_EQ(d.features.row_offsets, m.row_offsets);
  EXPECT_EQ(d.features.col_indices, m.col_indices);
  ASSERT_EQ(d.features.values.size(), m.values.size());
  for (std::size_t k = 0; k < m.values.size(); ++k)
    EXPECT_EQ(std::memcmp(&d.features.values[k], &m.values[k], sizeof(float)), 0) << k;
  std::remove(path.c_str());
}

// Inputs above 1 MiB are split into one chunk per thread: the result and the line numbers of
// errors must not depend on the thread count.
TEST(LibsvmParallel, ChunkedParseIsIdenticalForAnyThreadCount) {
  std::string text;
  for (int i = 0; i < 60000; ++i) {
    text += (i % 3 ? "-1" : "+1");
    for (int k = 1 + i % 5; k < 40; k += 1 + (i + k) % 7)
      text += " " + std::to_string(k) + ":" + std::to_string((i * 31 + k) % 1000 * 0.001);
    text += (i % 1000 == 0) ? " # comment\n" : "\n";
  }
  ASSERT_GT(text.size(), std::size_t{1} << 20);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = parse(text);
  omp_set_num_threads(3);
  const auto three = parse(text);
  EXPECT_EQ(one.labels, three.labels);
  EXPECT_EQ(one.features.row_offsets, three.features.row_offsets);
  EXPECT_EQ(one.features.col_indices, three.features.col_indices);
  EXPECT_EQ(one.features.values, three.features.values);
  EXPECT_EQ(one.features.rows, 60000u);
  // Dropping the features above 20 (a test file read into a training width of 20): the same
  // kept entries, counts and dropped indices for every chunking.
  zo::LibsvmOptions narrow;
  narrow.num_features = 20;
  narrow.drop_extra_features = true;
  omp_set_num_threads(1);
  const auto n1 = zo::parse_libsvm(text, "in.svm", narrow);
  omp_set_num_threads(3);
  const auto n3 = zo::parse_libsvm(text, "in.svm", narrow);
  EXPECT_EQ(n1.features.col_indices, n3.features.col_indices);
  EXPECT_EQ(n1.features.values, n3.features.values);
  EXPECT_EQ(n1.dropped_entries, n3.dropped_entries);
  EXPECT_EQ(n1.dropped_features, n3.dropped_features);
  EXPECT_EQ(n1.features.nnz() + n1.dropped_entries, one.features.nnz());
  EXPECT_EQ(n1.dropped_features.front(), 21);
  EXPECT_EQ(n1.dropped_features.back(), 39);
  // An error on the last line is reported with its global line number by every chunking.
  const std::string bad = text + "1 3:1 3:2\n";
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    EXPECT_EQ(error_of(bad).rfind("in.svm:60001:7: duplicate index 3", 0), 0u) << error_of(bad);
  }
  omp_set_num_threads(saved);
}

// Values are parsed by a fast path (Clinger: ≤ 7 significant digits, |exponent| ≤ 10) with a
// std::from_chars fallback: both must give the correctly rounded float, i.e. the same bits as
// std::from_chars, for every form a data set may contain.
TEST(LibsvmValues, FastPathMatchesFromCharsBitForBit) {
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<double> mantissa(-10.0, 10.0);
  std::uniform_int_distribution<int> exponent(-14, 14), digits(1, 10), len(1, 9);
  std::vector<std::string> values;
  char buf[64];
  for (int i = 0; i < 60000; ++i) {
    switch (i % 3) {
      case 0: {  // printf forms of random magnitudes and precisions
        const double v = mantissa(rng) * std::pow(10.0, exponent(rng));
        std::snprintf(buf, sizeof buf, "%.*g", digits(rng), v);
        values.emplace_back(buf);
        break;
      }
      case 1: {  // digit strings with a random decimal point and an optional exponent
        std::string s = (rng() & 1) ? "-" : "";
        const int n = len(rng), dot = static_cast<int>(rng() % (n + 2)) - 1;
        for (int k = 0; k < n; ++k) {
          if (k == dot) s += '.';
          s += static_cast<char>('0' + rng() % 10);
        }
        if (rng() % 3 == 0) s += "e" + std::to_string(exponent(rng));
        values.push_back(s);
        break;
      }
      default: {  // halfway-ish cases: 7-8 digit integers and their tenths
        const auto m = static_cast<long>(rng() % 100000000);
        values.push_back(std::to_string(m) + ((rng() & 1) ? "" : "e-1"));
        break;
      }
    }
  }
  std::string text;
  for (const auto& v : values) text += "1 1:" + v + "\n";
  const auto d = parse(text);
  ASSERT_EQ(d.features.rows, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    float expected = 0.0f;
    const auto r = std::from_chars(values[i].data(), values[i].data() + values[i].size(), expected);
    if (r.ec != std::errc()) continue;  // out of float range: covered by other tests
    const float got = d.features.values[i];
    EXPECT_EQ(std::memcmp(&got, &expected, sizeof(float)), 0)
        << "'" << values[i] << "': got " << got << ", std::from_chars gives " << expected;
  }
}
