// Chat text rules: empty, size limit, UTF-8 and control characters; and phone masking: what
// counts as a phone number, what is masked in it, and that nothing else changes.
#include <gtest/gtest.h>

#include <string>

#include "codec/chat_text.hpp"

namespace sb::codec {
namespace {

using namespace std::string_literals;

TEST(ChatText, AcceptsOrdinaryText) {
  EXPECT_EQ(check_chat_text("hello", 4096), "");
  EXPECT_EQ(check_chat_text("line one\nline two\tand a tab", 4096), "");
  EXPECT_EQ(check_chat_text("我的电话 — ok 👍", 4096), "");
  // U+00A0 (C2 A0) is the first code point after the C1 controls.
  EXPECT_EQ(check_chat_text("a\xC2\xA0z", 4096), "");
}

TEST(ChatText, EmptyIsMissing) {
  EXPECT_EQ(check_chat_text("", 4096), "missing_field");
  EXPECT_EQ(check_chat_text("", 0), "missing_field");
}

TEST(ChatText, SizeLimitCountsBytes) {
  EXPECT_EQ(check_chat_text(std::string(4096, 'a'), 4096), "");
  EXPECT_EQ(check_chat_text(std::string(4097, 'a'), 4096), "text_too_long");
  // Three characters, nine bytes.
  EXPECT_EQ(check_chat_text("谢谢你", 9), "");
  EXPECT_EQ(check_chat_text("谢谢你", 8), "text_too_long");
}

TEST(ChatText, TooLongWinsOverInvalid) {
  EXPECT_EQ(check_chat_text("\x01\x01\x01", 2), "text_too_long");
}

TEST(ChatText, RejectsControlCharacters) {
  for (const std::string& bad : {"\0"s, "\x01"s, "\r"s, "\x1B"s, "\x1F"s, "\x7F"s, "\x0B"s}) {
    EXPECT_EQ(check_chat_text("a" + bad + "b", 4096), "invalid_text") << static_cast<int>(bad[0]);
  }
}

TEST(ChatText, RejectsC1Controls) {
  EXPECT_EQ(check_chat_text("a\xC2\x80z", 4096), "invalid_text");  // U+0080
  EXPECT_EQ(check_chat_text("a\xC2\x85z", 4096), "invalid_text");  // U+0085 NEL
  EXPECT_EQ(check_chat_text("a\xC2\x9Fz", 4096), "invalid_text");  // U+009F
}

TEST(ChatText, RejectsInvalidUtf8) {
  EXPECT_EQ(check_chat_text("\xFF", 4096), "invalid_text");
  EXPECT_EQ(check_chat_text("ab\xE4\xBD", 4096), "invalid_text");        // truncated
  EXPECT_EQ(check_chat_text("\xC0\xAF", 4096), "invalid_text");          // overlong '/'
  EXPECT_EQ(check_chat_text("\xED\xA0\x80", 4096), "invalid_text");      // surrogate
  EXPECT_EQ(check_chat_text("\xF4\x90\x80\x80", 4096), "invalid_text");  // above U+10FFFF
}

TEST(ChatTextMask, MasksAPlainNumber) {
  EXPECT_EQ(mask_phones("13812345678"), "138****5678");
  EXPECT_EQ(mask_phones("call 13812345678 now"), "call 138****5678 now");
}

TEST(ChatTextMask, KeepsPlusAndSeparators) {
  EXPECT_EQ(mask_phones("+86 138-1234-5678"), "+86 1**-****-5678");
  EXPECT_EQ(mask_phones("5551-2345"), "555*-2345");
  EXPECT_EQ(mask_phones("tel:+8613812345678."), "tel:+861******5678.");
}

TEST(ChatTextMask, LengthBounds) {
  EXPECT_EQ(mask_phones("1234567"), "1234567");                    // 7 digits
  EXPECT_EQ(mask_phones("12345678"), "123*5678");                  // 8 digits: one is masked
  EXPECT_EQ(mask_phones("123456789012345"), "123********2345");    // 15
  EXPECT_EQ(mask_phones("1234567890123456"), "1234567890123456");  // 16
  // Separators do not count: 16 digits in groups are not a number either.
  EXPECT_EQ(mask_phones("1234 5678 9012 3456"), "1234 5678 9012 3456");
  EXPECT_EQ(mask_phones("123 4567"), "123 4567");
}

TEST(ChatTextMask, NumbersAtStartAndEnd) {
  EXPECT_EQ(mask_phones("13812345678 is mine"), "138****5678 is mine");
  EXPECT_EQ(mask_phones("mine is 13812345678"), "mine is 138****5678");
}

TEST(ChatTextMask, MultipleNumbers) {
  EXPECT_EQ(mask_phones("13812345678, 13987654321 or 5551-2345"),
            "138****5678, 139****4321 or 555*-2345");
  EXPECT_EQ(mask_phones("13812345678/13987654321"), "138****5678/139****4321");
}

TEST(ChatTextMask, LongRunsSplitAtSpacesIntoNumbers) {
  // Two numbers one space apart form a 22-digit run: split at the space, both are masked.
  EXPECT_EQ(mask_phones("13812345678 13987654321"), "138****5678 139****4321");
  // Groups join a number while they fit in 15 digits.
  EXPECT_EQ(mask_phones("+86 138 1234 5678 13987654321"), "+86 1** **** 5678 139****4321");
  // Without spaces a long run is one token (an order or tracking number) and stays whole.
  EXPECT_EQ(mask_phones("1234567890123456789012"), "1234567890123456789012");
  EXPECT_EQ(mask_phones("1234-5678-9012-3456-7890"), "1234-5678-9012-3456-7890");
}

TEST(ChatTextMask, DoubleSeparatorsEndANumber) {
  EXPECT_EQ(mask_phones("5551-2345  6789"), "555*-2345  6789");
  EXPECT_EQ(mask_phones("5551-2345--6789"), "555*-2345--6789");
  EXPECT_EQ(mask_phones("138 - 12345678"), "138 - 123*5678");
  // A separator that is not followed by a digit is not part of the number.
  EXPECT_EQ(mask_phones("13812345678- ok"), "138****5678- ok");
}

TEST(ChatTextMask, PartOfALongerRunOfLettersOrDigitsIsLeftAlone) {
  EXPECT_EQ(mask_phones("order A13812345678B"), "order A13812345678B");
  EXPECT_EQ(mask_phones("order A13812345678"), "order A13812345678");
  EXPECT_EQ(mask_phones("order 13812345678B"), "order 13812345678B");
  EXPECT_EQ(mask_phones("id x1-2345-6789"), "id x1-2345-6789");
  // A single separator or other punctuation breaks the run.
  EXPECT_EQ(mask_phones("order A-13812345678"), "order A-138****5678");
  EXPECT_EQ(mask_phones("(13812345678)"), "(138****5678)");
}

TEST(ChatTextMask, NonAsciiAroundANumberIsKeptAndDoesNotCountAsALetter) {
  EXPECT_EQ(mask_phones("我的电话13812345678谢谢"), "我的电话138****5678谢谢");
  EXPECT_EQ(mask_phones("電話：+86 138-1234-5678。"), "電話：+86 1**-****-5678。");
  EXPECT_EQ(mask_phones("café 5551-2345 ✓"), "café 555*-2345 ✓");
}

TEST(ChatTextMask, LeavesEverythingElseUnchanged) {
  EXPECT_EQ(mask_phones(""), "");
  EXPECT_EQ(mask_phones("no numbers here"), "no numbers here");
  EXPECT_EQ(mask_phones("order 1234567 costs 42"), "order 1234567 costs 42");
  EXPECT_EQ(mask_phones("bad \xFF\xFE 13812345678"), "bad \xFF\xFE 138****5678");
  const std::string with_nul = "a\0b 13812345678"s;
  EXPECT_EQ(mask_phones(with_nul), "a\0b 138****5678"s);
}

TEST(ChatTextMask, LongInputIsLinear) {
  // One huge digit run and many short ones: both finish quickly and stay untouched or masked
  // as a whole.
  const std::string run(1 << 20, '7');
  EXPECT_EQ(mask_phones(run), run);
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "13812345678 x ";
  std::string expected;
  for (int i = 0; i < 50000; ++i) expected += "138****5678 x ";
  EXPECT_EQ(mask_phones(many), expected);
}

}  // namespace
}  // namespace sb::codec
