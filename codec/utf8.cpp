#include "codec/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace sb::codec {

namespace {

bool continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const size_t left = s.size() - pos;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  // RFC 3629 section 4: the second byte's range depends on the lead byte; that is what rules
  // out overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points
  // above U+10FFFF (F4 90.., F5..FF).
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (!continuation(p[i])) return 0;
  }
  return len;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Most protocol text is ASCII: skip eight bytes at a time while no high bit is set.
    while (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof word);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i == s.size()) break;
    const size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace sb::codec
