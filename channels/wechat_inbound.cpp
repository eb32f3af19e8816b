// WeChat official-account inbound adapter: signature, plaintext XML parsing, passive text reply
// and the customer-message view of a callback. Pure functions; safe from any thread.
#include "channels/wechat_inbound.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <openssl/sha.h>
#include <boost/json.hpp>
#include <pugixml.hpp>

#include "channels/channel.hpp"
#include "codec/frames.hpp"
#include "codec/jwt.hpp"
#include "codec/utf8.hpp"

namespace sb::channels {

namespace {

// References are decoded by decode_text, not pugixml: pugixml turns "&#0;" into a NUL that
// silently ends the string. DOCTYPE nodes are kept only to be refused; parse_fragment keeps text
// beside the root visible so it can be refused too. Whitespace-only text beside a CDATA section
// is formatting and dropped; a field holding only whitespace keeps it.
constexpr unsigned parse_options = (pugi::parse_default | pugi::parse_doctype |
                                    pugi::parse_fragment | pugi::parse_ws_pcdata_single) &
                                   ~pugi::parse_escapes;

constexpr size_t max_msg_id_digits = 20;  // a 64-bit unsigned id

xml_error malformed(std::string message) {
  return {"malformed_xml", std::move(message)};
}
xml_error missing(std::string_view field) {
  return {"missing_field", "missing " + std::string(field)};
}
xml_error invalid(std::string_view field, std::string_view why) {
  return {"invalid_field", std::string(field) + " " + std::string(why)};
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool xml_space(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::optional<int64_t> parse_create_time(std::string_view s) {
  if (s.empty() || !all_digits(s)) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// XML 1.0's Char production: what a character reference may name.
bool xml_char(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// The code point of "#123" or "#x7B" (without '&' and ';'), if it is a character XML allows.
std::optional<uint32_t> char_reference(std::string_view ref) {
  const bool hex = ref.starts_with("#x");
  std::string_view digits = ref.substr(hex ? 2 : 1);
  if (digits.empty()) return std::nullopt;
  uint32_t cp = 0;
  for (char c : digits) {
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (hex && c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    cp = cp * (hex ? 16 : 10) + d;
    if (cp > 0x10FFFF) return std::nullopt;
  }
  if (!xml_char(cp)) return std::nullopt;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Appends character data with its references decoded; false on an undefined entity, an
// unterminated reference or a reference to a character XML forbids.
bool decode_text(std::string& out, std::string_view raw) {
  static constexpr std::array<std::pair<std::string_view, char>, 5> entities{
      {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}}};
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    out.append(raw.substr(0, amp));
    if (amp == std::string_view::npos) break;
    const size_t semi = raw.find(';', amp);
    if (semi == std::string_view::npos) return false;
    const std::string_view name = raw.substr(amp + 1, semi - amp - 1);
    if (name.starts_with('#')) {
      auto cp = char_reference(name);
      if (!cp) return false;
      append_utf8(out, *cp);
    } else {
      auto it = std::find_if(entities.begin(), entities.end(),
                             [&](const auto& e) { return e.first == name; });
      if (it == entities.end()) return false;
      out.push_back(it->second);
    }
    raw.remove_prefix(semi + 1);
  }
  return true;
}

// Reads known fields of the root; the first problem is kept and later reads return nullopt.
class field_reader {
 public:
  explicit field_reader(pugi::xml_node root) : root_(root) {}

  // The text of the root's `name` child; nullopt when absent or refused (see error()).
  std::optional<std::string> read(const char* name) {
    if (error_) return std::nullopt;
    const pugi::xml_node el = root_.child(name);
    if (!el) return std::nullopt;
    if (el.next_sibling(name)) return fail(invalid(name, "is given more than once"));
    std::string text;
    for (const pugi::xml_node part : el.children()) {
      if (part.type() == pugi::node_cdata) {
        text.append(part.value());
      } else if (part.type() != pugi::node_pcdata) {
        return fail(invalid(name, "must hold text only"));
      } else if (!decode_text(text, part.value())) {
        return fail(malformed(std::string("bad entity or character reference in ") + name));
      }
    }
    if (!codec::valid_utf8(text)) return fail(invalid(name, "is not valid UTF-8"));
    return text;
  }

  const std::optional<xml_error>& error() const { return error_; }

 private:
  std::optional<std::string> fail(xml_error e) {
    error_ = std::move(e);
    return std::nullopt;
  }

  pugi::xml_node root_;
  std::optional<xml_error> error_;
};

struct text_field {
  const char* name;
  std::string wechat_message::*member;
};

constexpr std::array<text_field, 19> text_fields{{
    {"ToUserName", &wechat_message::to_user},
    {"FromUserName", &wechat_message::from_user},
    {"MsgType", &wechat_message::msg_type},
    {"MsgId", &wechat_message::msg_id},
    {"Content", &wechat_message::content},
    {"PicUrl", &wechat_message::pic_url},
    {"MediaId", &wechat_message::media_id},
    {"Format", &wechat_message::format},
    {"Recognition", &wechat_message::recognition},
    {"ThumbMediaId", &wechat_message::thumb_media_id},
    {"Location_X", &wechat_message::location_x},
    {"Location_Y", &wechat_message::location_y},
    {"Scale", &wechat_message::scale},
    {"Label", &wechat_message::label},
    {"Title", &wechat_message::title},
    {"Description", &wechat_message::description},
    {"Url", &wechat_message::url},
    {"Event", &wechat_message::event},
    {"EventKey", &wechat_message::event_key},
}};

// The single <xml> element of the document, or why there is none.
std::variant<pugi::xml_node, xml_error> root_element(const pugi::xml_document& doc) {
  pugi::xml_node root;
  for (const pugi::xml_node n : doc.children()) {
    switch (n.type()) {
      case pugi::node_element:
        if (root) return malformed("more than one root element");
        root = n;
        break;
      case pugi::node_pcdata:
        if (!xml_space(n.value())) return malformed("text outside the root element");
        break;
      case pugi::node_doctype:
        return malformed("a DOCTYPE is not allowed");
      default:
        return malformed("unexpected content outside the root element");
    }
  }
  if (!root) return malformed("no root element");
  if (std::strcmp(root.name(), "xml") != 0) return malformed("the root element must be <xml>");
  return root;
}

std::optional<xml_error> check_values(const wechat_message& m, const pugi::xml_node root) {
  for (const char* name : {"ToUserName", "FromUserName", "CreateTime", "MsgType"})
    if (!root.child(name)) return missing(name);
  if (m.msg_type == "text" && !root.child("Content")) return missing("Content");
  if (m.msg_type == "event" && !root.child("Event")) return missing("Event");
  if (m.to_user.empty()) return invalid("ToUserName", "is empty");
  if (m.from_user.empty() || !codec::valid_id(wechat_principal(m.from_user)))
    return invalid("FromUserName", "is not a valid openid");
  if (m.msg_type.empty()) return invalid("MsgType", "is empty");
  if (root.child("MsgId") &&
      (m.msg_id.empty() || m.msg_id.size() > max_msg_id_digits || !all_digits(m.msg_id)))
    return invalid("MsgId", "must be 1 to 20 decimal digits");
  return std::nullopt;
}

// Chat text refuses control characters other than \n and \t: C0, DEL and C1 (U+0080–U+009F).
bool control_character(std::string_view s, size_t pos, size_t len) {
  const auto c = static_cast<unsigned char>(s[pos]);
  if (len == 1) return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F;
  return len == 2 && c == 0xC2 && static_cast<unsigned char>(s[pos + 1]) <= 0x9F;
}

// Appends `s` with invalid UTF-8 bytes replaced by U+FFFD and, for chat text, control
// characters by spaces.
void append_sanitized(std::string& out, std::string_view s, bool chat_text) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = codec::utf8_sequence_length(s, i);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
      continue;
    }
    if (chat_text && control_character(s, i, len)) {
      out.push_back(' ');
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
}

// Cuts valid UTF-8 to at most `max` bytes without splitting a character.
void truncate_utf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

class string_writer : public pugi::xml_writer {
 public:
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
  std::string out;
};

}  // namespace

std::string wechat_signature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce) {
  std::array<std::string_view, 3> parts{token, timestamp, nonce};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  joined.reserve(token.size() + timestamp.size() + nonce.size());
  for (auto p : parts) joined.append(p);

  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest.data());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (unsigned char b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0F]);
  }
  return out;
}

bool wechat_signature_valid(std::string_view token, std::string_view timestamp,
                            std::string_view nonce, std::string_view signature) {
  if (token.empty()) return false;
  std::string given(signature);
  std::transform(given.begin(), given.end(), given.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return codec::secret_equal(wechat_signature(token, timestamp, nonce), given);
}

std::variant<wechat_message, xml_error> parse_wechat_message(std::string_view xml) {
  // XML forbids NUL, and pugixml would stop reading at one.
  if (xml.find('\0') != std::string_view::npos) return malformed("a NUL byte");
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), parse_options, pugi::encoding_utf8);
  if (!parsed) return malformed(parsed.description());
  auto root_or = root_element(doc);
  if (auto* e = std::get_if<xml_error>(&root_or)) return std::move(*e);
  const pugi::xml_node root = std::get<pugi::xml_node>(root_or);

  wechat_message m;
  field_reader fields(root);
  for (const text_field& f : text_fields)
    if (auto v = fields.read(f.name)) m.*f.member = std::move(*v);
  const std::optional<std::string> create_time = fields.read("CreateTime");
  if (fields.error()) return *fields.error();
  if (auto e = check_values(m, root)) return std::move(*e);
  const std::optional<int64_t> seconds = parse_create_time(*create_time);
  if (!seconds) return invalid("CreateTime", "must be a non-negative decimal 64-bit integer");
  m.create_time = *seconds;
  return m;
}

std::string wechat_text_reply(std::string_view to_user, std::string_view from_user,
                              int64_t create_time, std::string_view content) {
  pugi::xml_document doc;
  pugi::xml_node xml = doc.append_child("xml");
  auto cdata = [&](const char* name, std::string_view value) {
    xml.append_child(name).append_child(pugi::node_cdata).set_value(value.data(), value.size());
  };
  cdata("ToUserName", to_user);
  cdata("FromUserName", from_user);
  xml.append_child("CreateTime").text().set(static_cast<long long>(create_time));
  cdata("MsgType", "text");
  cdata("Content", content);
  string_writer w;
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return std::move(w.out);
}

std::optional<inbound_content> wechat_content(const wechat_message& m) {
  const std::string& type = m.msg_type;
  if (type == "event") return std::nullopt;
  if (type == "text") return inbound_content{type, m.content, ""};

  std::string text = "[";
  append_sanitized(text, type, true);
  text.push_back(']');
  auto detail = [&](std::string_view part) {
    if (part.empty()) return;
    text.push_back(' ');
    append_sanitized(text, part, true);
  };
  boost::json::object extra;
  auto field = [&](std::string_view key, const std::string& value) {
    // Boost.JSON would copy invalid UTF-8 into the output, which no client could parse.
    std::string valid;
    append_sanitized(valid, value, false);
    extra[key] = valid;
  };
  if (type == "image") {
    field("pic_url", m.pic_url);
    field("media_id", m.media_id);
  } else if (type == "voice") {
    detail(m.recognition);
    field("media_id", m.media_id);
    field("format", m.format);
    field("recognition", m.recognition);
  } else if (type == "video" || type == "shortvideo") {
    field("media_id", m.media_id);
    field("thumb_media_id", m.thumb_media_id);
  } else if (type == "location") {
    detail(m.label);
    if (!m.location_x.empty() || !m.location_y.empty())
      detail("(" + m.location_x + "," + m.location_y + ")");
    field("location_x", m.location_x);
    field("location_y", m.location_y);
    field("scale", m.scale);
    field("label", m.label);
  } else if (type == "link") {
    detail(m.title);
    detail(m.url);
    field("title", m.title);
    field("description", m.description);
    field("url", m.url);
  }
  truncate_utf8(text, placeholder_max_bytes);
  return inbound_content{type, std::move(text), boost::json::serialize(extra)};
}

}  // namespace sb::channels
