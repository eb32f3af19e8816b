#include "net/codec/chat_text.hpp"

#include "net/codec/utf8.hpp"

namespace sb::codec {

namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}

bool letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool separator(char c) {
  return c == ' ' || c == '-';
}

// C1 controls U+0080–U+009F are the two-byte sequences C2 80 .. C2 9F.
bool control(std::string_view s, size_t pos, size_t len) {
  const auto c = static_cast<unsigned char>(s[pos]);
  if (len == 1) return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F;
  return len == 2 && c == 0xC2 && static_cast<unsigned char>(s[pos + 1]) < 0xA0;
}

}  // namespace

std::string check_chat_text(std::string_view text, size_t max_bytes) {
  if (text.empty()) return "missing_field";
  // Checked first so that an oversized text costs no scan.
  if (text.size() > max_bytes) return "text_too_long";
  for (size_t i = 0; i < text.size();) {
    const size_t len = utf8_sequence_length(text, i);
    if (len == 0 || control(text, i, len)) return "invalid_text";
    i += len;
  }
  return "";
}

std::string mask_phones(std::string_view text) {
  std::string out(text);
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (!digit(text[i])) {
      ++i;
      continue;
    }
    // The whole run of digits joined by single separators, so that a run rejected as a whole
    // is never re-scanned from inside: every byte is visited a bounded number of times.
    const size_t start = i;
    size_t digits = 0;
    for (;;) {
      while (i < n && digit(text[i])) {
        ++i;
        ++digits;
      }
      if (i + 1 < n && separator(text[i]) && digit(text[i + 1])) {
        ++i;
        continue;
      }
      break;
    }
    // The run is maximal, so no digit touches it: only a letter can make it part of a longer
    // run of letters or digits.
    const bool attached = (start > 0 && letter(text[start - 1])) || (i < n && letter(text[i]));
    if (!attached && digits >= 8 && digits <= 15) {
      size_t seen = 0;
      for (size_t k = start; k < i; ++k) {
        if (!digit(text[k])) continue;
        if (seen >= 3 && seen < digits - 4) out[k] = '*';
        ++seen;
      }
    }
  }
  return out;
}

}  // namespace sb::codec
