// Chat text rules of docs/PROTOCOL.md ("Chat"): what a message may contain, and the phone
// masking applied to what agents receive. Pure functions; safe from any thread.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sb::codec {

// "" when `text` is acceptable, else the error code: "missing_field" when empty,
// "text_too_long" when over `max_bytes` bytes, "invalid_text" when not valid UTF-8 or holding
// a control character other than newline and tab (C0, DEL, C1 U+0080–U+009F).
std::string check_chat_text(std::string_view text, size_t max_bytes);

// `text` with every phone number masked ("Phone masking"): a run of 8–15 ASCII digits whose
// digits may be separated by single spaces or hyphens, not adjacent to an ASCII letter or
// digit, keeps its first 3 and last 4 digits; the others become '*', separators stay. Only
// ASCII letters and digits count as adjacent: "电话13812345678" is masked. Linear time;
// everything else, invalid UTF-8 included, is copied unchanged.
std::string mask_phones(std::string_view text);

}  // namespace sb::codec
