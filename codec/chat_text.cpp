#include "codec/chat_text.hpp"

#include "codec/utf8.hpp"

#include <vector>

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

namespace {

// Masks the digits of text[begin, end) that hold `digits` digits: all but the first 3 and
// the last 4, when it is phone-number sized.
void mask_number(std::string& out, std::string_view text, size_t begin, size_t end, size_t digits) {
  if (digits < 8 || digits > 15) return;
  size_t seen = 0;
  for (size_t k = begin; k < end; ++k) {
    if (!digit(text[k])) continue;
    if (seen >= 3 && seen < digits - 4) out[k] = '*';
    ++seen;
  }
}

// A run longer than a phone number may be several numbers written one after another
// ("13812345678 13987654321"): split it at its spaces, each number taking as many whole
// space-separated groups as fit in 15 digits. Only when every part is phone-sized is it taken
// for numbers; otherwise (a card number in groups, an order or tracking number) it stays whole.
void mask_long_run(std::string& out, std::string_view text, size_t begin, size_t end) {
  struct part {
    size_t begin, end, digits;
  };
  std::vector<part> parts;
  part current{begin, begin, 0};
  for (size_t k = begin; k < end;) {
    size_t group_end = k, group_digits = 0;
    while (group_end < end && text[group_end] != ' ') group_digits += digit(text[group_end++]);
    if (current.digits > 0 && current.digits + group_digits > 15) {
      parts.push_back(current);
      current = {k, k, 0};
    }
    current.end = group_end;
    current.digits += group_digits;
    k = group_end + 1;  // past the space
  }
  parts.push_back(current);
  for (const auto& p : parts)
    if (p.digits < 8 || p.digits > 15) return;
  for (const auto& p : parts) mask_number(out, text, p.begin, p.end, p.digits);
}

}  // namespace

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
    if (attached) continue;
    if (digits > 15)
      mask_long_run(out, text, start, i);
    else
      mask_number(out, text, start, i, digits);
  }
  return out;
}

}  // namespace sb::codec
