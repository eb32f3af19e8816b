// UTF-8 validation (RFC 3629: no overlongs, no surrogates, max U+10FFFF). Pure functions; safe
// from any thread.
#pragma once
#include <cstddef>
#include <string_view>

namespace sb::codec {

bool valid_utf8(std::string_view s);

// Length (1..4) of the well-formed UTF-8 sequence that starts at s[pos], or 0 when the bytes
// there are not one (pos must be < s.size()).
size_t utf8_sequence_length(std::string_view s, size_t pos);

}  // namespace sb::codec
