#include "codec/frames.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <optional>

#include <boost/json.hpp>

#include "codec/chat_text.hpp"
#include "codec/utf8.hpp"

namespace sb::codec {

namespace json = boost::json;

namespace {

constexpr size_t max_resume_streams = 64;
constexpr size_t max_name_chars = 64;
constexpr std::string_view id_rule = "an id (1-128 bytes of [A-Za-z0-9_.:@-])";

constexpr std::array<std::pair<std::string_view, client_op>, 9> ops{{
    {"hello", client_op::hello},
    {"ack", client_op::ack},
    {"send", client_op::send},
    {"typing", client_op::typing},
    {"resolve", client_op::resolve},
    {"transfer", client_op::transfer},
    {"take", client_op::take},
    {"leave", client_op::leave},
    {"presence", client_op::presence},
}};

protocol_error make_error(std::string_view code, std::string message, std::string_view ref = {}) {
  return protocol_error{std::string(code), std::move(message), std::string(ref)};
}

template <class Integer>
void append_number(std::string& out, Integer n) {
  std::array<char, 24> buf;
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), n).ptr;
  out.append(buf.data(), end);
}

// Boost.JSON gives non-negative integers as int64, or uint64 above INT64_MAX; doubles (1.0,
// 1e3) are refused so that a sequence number is never rounded.
std::optional<uint64_t> as_count(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return std::nullopt;
}

// The checks every JSON input shares, in the order the protocol reports them: size, UTF-8,
// syntax and depth, top-level object. On success `out` holds the object (allocated on the
// storage `out` was created with) and the returned error has an empty code.
protocol_error parse_object(std::string_view text, const json_limits& limits,
                            std::string_view too_large_code, std::string_view what,
                            json::value& out) {
  if (text.size() > limits.max_bytes) {
    return make_error(too_large_code, std::string(what) + " larger than " +
                                          std::to_string(limits.max_bytes) + " bytes");
  }
  if (!valid_utf8(text)) return make_error("invalid_utf8", std::string(what) + " is not UTF-8");
  json::parse_options options;
  options.max_depth = limits.max_depth;
  json::error_code ec;
  out = json::parse(text, ec, out.storage(), options);
  if (ec == json::error::too_deep) {
    return make_error("too_deep",
                      "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  if (ec) return make_error("malformed_json", "malformed JSON: " + ec.message());
  if (!out.is_object()) return make_error("not_an_object", "the top level must be a JSON object");
  return {};
}

// Reads the fields of one op, recording the first missing or invalid one as the error.
class field_reader {
 public:
  field_reader(const json::object& obj, std::string_view ref) : obj_(obj), ref_(ref) {}

  bool id(std::string_view name, std::string& out) {
    const json::value* v = required(name);
    return v && assign_id(name, *v, out);
  }

  // Absent or null leaves `out` empty.
  bool optional_id(std::string_view name, std::string& out) {
    const json::value* v = obj_.if_contains(name);
    return !v || v->is_null() || assign_id(name, *v, out);
  }

  // A display name: absent or null leaves `out` empty; else 1..max_name_chars code points of
  // chat text on one line (no control characters at all).
  bool optional_name(std::string_view name, std::string& out) {
    const json::value* v = obj_.if_contains(name);
    if (!v || v->is_null()) return true;
    constexpr std::string_view rule = "1-64 characters without control characters";
    if (!v->is_string()) return invalid(name, rule);
    const std::string_view s = v->get_string();
    size_t chars = 0;
    for (const char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (chars == 0 || chars > max_name_chars || !check_chat_text(s, s.size()).empty() ||
        s.find_first_of("\n\t") != std::string_view::npos)
      return invalid(name, rule);
    out = s;
    return true;
  }

  bool string(std::string_view name, std::string& out) {
    const json::value* v = required(name);
    if (!v) return false;
    if (!v->is_string()) return invalid(name, "a string");
    out = v->get_string();
    return true;
  }

  bool count(std::string_view name, uint64_t& out) {
    const json::value* v = required(name);
    if (!v) return false;
    const auto n = as_count(*v);
    if (!n) return invalid(name, "a non-negative integer");
    out = *n;
    return true;
  }

  bool one_of(std::string_view name, std::string& out,
              std::initializer_list<std::string_view> allowed, std::string_view description) {
    if (!string(name, out)) return false;
    for (const auto a : allowed) {
      if (out == a) return true;
    }
    return invalid(name, description);
  }

  // hello.resume: absent or null means "after the principal's last ack".
  bool resume(std::string_view name, std::vector<std::pair<std::string, uint64_t>>& out) {
    const json::value* v = obj_.if_contains(name);
    if (!v || v->is_null()) return true;
    constexpr std::string_view shape = "an object of stream names to non-negative integers";
    if (!v->is_object()) return invalid(name, shape);
    const json::object& streams = v->get_object();
    if (streams.size() > max_resume_streams) {
      return invalid(name, "at most " + std::to_string(max_resume_streams) + " streams");
    }
    out.reserve(streams.size());
    for (const auto& [stream, seq] : streams) {
      const auto n = as_count(seq);
      if (!n) return invalid(name, shape);
      out.emplace_back(std::string(stream), *n);
    }
    return true;
  }

  // order_id: an id, or a non-negative integer kept as its decimal spelling.
  bool id_or_count(std::string_view name, std::string& out) {
    const json::value* v = required(name);
    if (!v) return false;
    if (const auto n = as_count(*v)) {
      out = std::to_string(*n);
      return true;
    }
    if (!v->is_string() || !valid_id(v->get_string())) {
      return invalid(name, std::string(id_rule) + " or a non-negative integer");
    }
    out = v->get_string();
    return true;
  }

  protocol_error error() && { return std::move(error_); }

 private:
  const json::value* required(std::string_view name) {
    const json::value* v = obj_.if_contains(name);
    if (!v) error_ = make_error("missing_field", "missing field '" + std::string(name) + "'", ref_);
    return v;
  }

  bool assign_id(std::string_view name, const json::value& v, std::string& out) {
    if (!v.is_string() || !valid_id(v.get_string())) return invalid(name, id_rule);
    out = v.get_string();
    return true;
  }

  bool invalid(std::string_view name, std::string_view expected) {
    error_ = make_error("invalid_field",
                        "field '" + std::string(name) + "' must be " + std::string(expected), ref_);
    return false;
  }

  const json::object& obj_;
  std::string_view ref_;
  protocol_error error_;
};

bool read_fields(client_op op, field_reader& f, client_frame& frame) {
  switch (op) {
    case client_op::hello:
      return f.resume("resume", frame.resume);
    case client_op::ack:
      return f.string("stream", frame.stream) && f.count("seq", frame.seq);
    case client_op::send:
      return f.id("conv", frame.conv) && f.id("id", frame.id) && f.string("text", frame.text) &&
             f.optional_name("name", frame.name);
    case client_op::typing:
    case client_op::resolve:
    case client_op::take:
    case client_op::leave:
      return f.id("conv", frame.conv);
    case client_op::transfer:
      return f.id("conv", frame.conv) && f.optional_id("to", frame.to);
    case client_op::presence:
      return f.one_of("status", frame.status, {"online", "away"}, "\"online\" or \"away\"");
  }
  return false;
}

// The body without insignificant whitespace. Numbers keep the client's spelling: serializing
// the parsed value instead would turn 12.5 into 1.25E1, round big integers, and write 1e400 as
// the non-JSON token Infinity. `text` must be valid JSON.
std::string compact(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::variant<client_frame, protocol_error> parse_client_frame(std::string_view text,
                                                              const json_limits& limits) {
  // Frames are small: parse into a stack buffer, released at once with the frame.
  std::array<unsigned char, 4096> buffer;
  json::monotonic_resource resource(buffer.data(), buffer.size());
  json::storage_ptr storage(&resource);
  json::value v(storage);
  if (auto e = parse_object(text, limits, "frame_too_large", "frame", v); !e.code.empty()) {
    return e;
  }
  const json::object& obj = v.get_object();
  const json::value* op_value = obj.if_contains("op");
  if (!op_value || !op_value->is_string()) {
    return make_error("missing_op", "missing field 'op' (a string)");
  }
  const json::string& op_name = op_value->get_string();
  for (const auto& [name, op] : ops) {
    if (op_name != name) continue;
    client_frame frame;
    frame.op = op;
    field_reader fields(obj, name);
    if (!read_fields(op, fields, frame)) return std::move(fields).error();
    return frame;
  }
  // The ref names the op the client sent (clipped: it is the client's text, echoed back).
  std::string_view sent(op_name.data(), std::min<size_t>(op_name.size(), 64));
  return make_error(
      "unknown_op",
      "unknown op (expected hello, ack, send, typing, resolve, transfer, take, leave, presence)",
      valid_utf8(sent) ? sent : std::string_view());
}

protocol_error check_json_body(std::string_view body, const json_limits& limits) {
  json::monotonic_resource resource;
  json::storage_ptr storage(&resource);
  json::value v(storage);
  return parse_object(body, limits, "body_too_large", "body", v);
}

std::variant<order_input, protocol_error> parse_order(std::string_view body,
                                                      const json_limits& limits) {
  json::monotonic_resource resource;
  json::storage_ptr storage(&resource);
  json::value v(storage);
  if (auto e = parse_object(body, limits, "body_too_large", "body", v); !e.code.empty()) return e;
  order_input order;
  field_reader fields(v.get_object(), {});
  if (!fields.id("merchant", order.merchant) || !fields.id_or_count("order_id", order.order_id)) {
    return std::move(fields).error();
  }
  order.data = compact(body);
  return order;
}

void json_quote_append(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t verbatim_from = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t len = utf8_sequence_length(s, i)) {
        i += len;
        continue;
      }
    }
    out.append(s.data() + verbatim_from, i - verbatim_from);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    verbatim_from = ++i;
  }
  out.append(s.data() + verbatim_from, s.size() - verbatim_from);
  out.push_back('"');
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  json_quote_append(out, s);
  return out;
}

std::string encode_push(std::string_view stream, uint64_t seq, std::string_view id, int64_t ts_ms,
                        std::string_view kind, std::string_view data_json) {
  std::string out;
  out.reserve(96 + stream.size() + id.size() + kind.size() + data_json.size());
  out.append(R"({"op":"push","stream":)");
  json_quote_append(out, stream);
  out.append(R"(,"seq":)");
  append_number(out, seq);
  out.append(R"(,"id":)");
  json_quote_append(out, id);
  out.append(R"(,"ts":)");
  append_number(out, ts_ms);
  out.append(R"(,"kind":)");
  json_quote_append(out, kind);
  out.append(R"(,"data":)");
  out.append(data_json);
  out.push_back('}');
  return out;
}

std::string encode_welcome(std::string_view node, std::string_view principal,
                           const std::vector<std::string>& streams) {
  std::string out(R"({"op":"welcome","node":)");
  json_quote_append(out, node);
  out.append(R"(,"principal":)");
  json_quote_append(out, principal);
  out.append(R"(,"streams":[)");
  for (size_t i = 0; i < streams.size(); ++i) {
    if (i) out.push_back(',');
    json_quote_append(out, streams[i]);
  }
  out.append("]}");
  return out;
}

std::string encode_sent(std::string_view id, std::string_view conv, uint64_t seq) {
  std::string out(R"({"op":"sent","id":)");
  json_quote_append(out, id);
  out.append(R"(,"conv":)");
  json_quote_append(out, conv);
  out.append(R"(,"seq":)");
  append_number(out, seq);
  out.push_back('}');
  return out;
}

std::string encode_error_frame(std::string_view code, std::string_view message,
                               std::string_view ref) {
  std::string out(R"({"op":"error","code":)");
  json_quote_append(out, code);
  out.append(R"(,"message":)");
  json_quote_append(out, message);
  out.append(R"(,"ref":)");
  json_quote_append(out, ref);
  out.push_back('}');
  return out;
}

std::string encode_event(std::string_view kind, std::string_view conv, std::string_view data_json) {
  std::string out(R"({"op":"event","kind":)");
  json_quote_append(out, kind);
  out.append(R"(,"conv":)");
  json_quote_append(out, conv);
  out.append(R"(,"data":)");
  out.append(data_json);
  out.push_back('}');
  return out;
}

std::string encode_http_error(std::string_view code, std::string_view message) {
  std::string out(R"({"error":)");
  json_quote_append(out, code);
  out.append(R"(,"message":)");
  json_quote_append(out, message);
  out.push_back('}');
  return out;
}

}  // namespace sb::codec
