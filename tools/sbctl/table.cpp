// table (table.hpp).
#include "tools/sbctl/table.hpp"

#include <algorithm>
#include <stdexcept>

namespace sb::sbctl {

namespace {

// Columns a code point takes on a terminal: 2 for East Asian wide and fullwidth characters
// (Markus Kuhn's wcwidth ranges), 1 for the rest. Combining marks are not special-cased.
size_t columns(char32_t c) {
  const bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
                    (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                    (c >= 0xFE30 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF60) ||
                    (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
                    (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
  return wide ? 2 : 1;
}

// Terminal columns of UTF-8 text; a byte that does not start a valid sequence counts as one.
size_t width(const std::string& s) {
  size_t total = 0;
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t length = lead < 0x80           ? 1
                          : (lead >> 5) == 0x6  ? 2
                          : (lead >> 4) == 0xE  ? 3
                          : (lead >> 3) == 0x1E ? 4
                                                : 0;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    bool valid = length != 0 && i + length <= s.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      valid = (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    total += valid ? columns(c) : 1;
    i += valid ? length : 1;
  }
  return total;
}

}  // namespace

table::table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void table::add_row(std::vector<std::string> cells) {
  if (cells.size() > headers_.size()) throw std::invalid_argument("table row wider than headers");
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string table::render() const {
  std::vector<size_t> widths;
  for (const auto& h : headers_) widths.push_back(width(h));
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text.append(widths[i] - width(cells[i]) + 2, ' ');
    }
    while (text.ends_with(' ')) text.pop_back();  // an empty last cell
    out += text + '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

}  // namespace sb::sbctl
