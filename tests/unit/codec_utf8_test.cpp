// UTF-8 validation against RFC 3629's table, including the boundaries of each range.
#include <gtest/gtest.h>

#include <string>

#include "codec/utf8.hpp"

namespace sb::codec {
namespace {

struct utf8_case {
  const char* name;
  std::string text;
  bool valid;
};

class Utf8Table : public ::testing::TestWithParam<utf8_case> {};

TEST_P(Utf8Table, MatchesRfc3629) {
  EXPECT_EQ(valid_utf8(GetParam().text), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Utf8Table,
    ::testing::Values(
        utf8_case{"empty", "", true}, utf8_case{"ascii", "hello, world", true},
        utf8_case{"nul_and_del", std::string("a\0b\x7f", 4), true},
        utf8_case{"two_byte_min", "\xC2\x80", true}, utf8_case{"two_byte_max", "\xDF\xBF", true},
        utf8_case{"e_acute", "caf\xC3\xA9", true},
        utf8_case{"three_byte_min", "\xE0\xA0\x80", true},
        utf8_case{"cjk", "\xE4\xB8\xAD\xE6\x96\x87", true},
        utf8_case{"before_surrogates", "\xED\x9F\xBF", true},
        utf8_case{"after_surrogates", "\xEE\x80\x80", true},
        utf8_case{"bmp_max", "\xEF\xBF\xBF", true},
        utf8_case{"four_byte_min", "\xF0\x90\x80\x80", true},
        utf8_case{"emoji", "\xF0\x9F\x98\x80", true},
        utf8_case{"max_code_point", "\xF4\x8F\xBF\xBF", true},
        utf8_case{"overlong_slash_2", "\xC0\xAF", false},
        utf8_case{"overlong_c1", "\xC1\xBF", false}, utf8_case{"overlong_3", "\xE0\x80\xAF", false},
        utf8_case{"overlong_3_max", "\xE0\x9F\xBF", false},
        utf8_case{"overlong_4", "\xF0\x80\x80\xAF", false},
        utf8_case{"overlong_4_max", "\xF0\x8F\xBF\xBF", false},
        utf8_case{"surrogate_low_end", "\xED\xA0\x80", false},
        utf8_case{"surrogate_high_end", "\xED\xBF\xBF", false},
        utf8_case{"surrogate_pair_cesu", "\xED\xA0\xBD\xED\xB8\x80", false},
        utf8_case{"above_10ffff", "\xF4\x90\x80\x80", false},
        utf8_case{"lead_f5", "\xF5\x80\x80\x80", false}, utf8_case{"lead_ff", "\xFF", false},
        utf8_case{"lone_continuation", "\x80", false}, utf8_case{"truncated_2", "\xC3", false},
        utf8_case{"truncated_3", "\xE4\xB8", false},
        utf8_case{"truncated_4", "\xF0\x9F\x98", false},
        utf8_case{"truncated_then_ascii", "\xE4\xB8x", false},
        utf8_case{"bad_third_byte", "\xE4\xB8\xC0", false},
        utf8_case{"bad_fourth_byte", "\xF0\x9F\x98\x20", false}),
    [](const auto& info) { return std::string(info.param.name); });

// The eight-byte ASCII fast path must not skip a bad byte at any offset.
TEST(Utf8, BadByteAtEveryOffsetOfLongAscii) {
  for (size_t pos = 0; pos < 40; ++pos) {
    std::string s(40, 'a');
    s[pos] = '\x80';
    EXPECT_FALSE(valid_utf8(s)) << pos;
    s[pos] = 'b';
    EXPECT_TRUE(valid_utf8(s)) << pos;
  }
}

TEST(Utf8, MultiByteAfterAsciiRun) {
  EXPECT_TRUE(valid_utf8("0123456789abcdef\xE4\xB8\xAD-0123456789"));
  EXPECT_FALSE(valid_utf8("0123456789abcdef\xE4\xB8-0123456789"));
}

TEST(Utf8, SequenceLength) {
  const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xC0";
  EXPECT_EQ(utf8_sequence_length(s, 0), 1u);
  EXPECT_EQ(utf8_sequence_length(s, 1), 2u);
  EXPECT_EQ(utf8_sequence_length(s, 3), 3u);
  EXPECT_EQ(utf8_sequence_length(s, 6), 4u);
  EXPECT_EQ(utf8_sequence_length(s, 10), 0u);
  EXPECT_EQ(utf8_sequence_length(s, 2), 0u);  // a continuation byte does not start a sequence
}

}  // namespace
}  // namespace sb::codec
