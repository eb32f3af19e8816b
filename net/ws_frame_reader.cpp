#include "net/ws_frame_reader.hpp"

#include "codec/utf8.hpp"

namespace sb::net {

namespace {

constexpr uint16_t protocol_error = 1002;
constexpr uint16_t unknown_data = 1003;
constexpr uint16_t bad_payload = 1007;
constexpr uint16_t too_big = 1009;

uint8_t byte(std::string_view s, size_t i) {
  return static_cast<uint8_t>(s[i]);
}

// RFC 6455 §7.4: the codes a peer may send.
bool valid_close_code(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

}  // namespace

size_t ws_frame_reader::next_frame(std::string_view in, event& ev, bool& complete) {
  auto fail = [&](uint16_t code) {
    ev = {kind::fail, {}, code};
    complete = true;
    return in.size();
  };
  if (in.size() < 2) return 0;
  const uint8_t b0 = byte(in, 0), b1 = byte(in, 1);
  const bool fin = b0 & 0x80;
  const uint8_t op = b0 & 0x0f;
  if ((b0 & 0x70) || !(b1 & 0x80)) return fail(protocol_error);  // no extensions; clients mask
  size_t header = 2;
  uint64_t len = b1 & 0x7f;
  if (len == 126) {
    if (in.size() < 4) return 0;
    len = (uint64_t{byte(in, 2)} << 8) | byte(in, 3);
    header = 4;
  } else if (len == 127) {
    if (in.size() < 10) return 0;
    len = 0;
    for (size_t i = 2; i < 10; ++i) len = (len << 8) | byte(in, i);
    header = 10;
  }
  const bool control = op & 0x8;
  if (control) {
    if (op > 0xa || !fin || len > 125) return fail(protocol_error);
  } else if (op == 0x2) {
    return fail(unknown_data);  // binary: the protocol is JSON text
  } else if (op > 0x2 || (op == 0x0) != in_message_) {
    return fail(protocol_error);  // a reserved opcode, or a continuation out of place
  } else if (len > max_message_ - message_.size()) {
    return fail(too_big);
  }
  if (in.size() - header < 4 + len) return 0;
  const auto* mask = reinterpret_cast<const unsigned char*>(in.data() + header);
  const std::string_view masked = in.substr(header + 4, len);
  std::string payload_buf;
  std::string& payload = control ? payload_buf : message_;
  const size_t base = payload.size();
  payload.resize(base + len);
  for (size_t i = 0; i < len; ++i) payload[base + i] = static_cast<char>(masked[i] ^ mask[i % 4]);
  const size_t used = header + 4 + len;

  if (!control) {
    in_message_ = !fin;
    if (!fin) return used;
    if (!codec::valid_utf8(message_)) return fail(bad_payload);
    ev = {kind::text, std::exchange(message_, std::string()), 0};
    complete = true;
    return used;
  }
  complete = true;
  if (op == 0x9) {
    ev = {kind::ping, std::move(payload_buf), 0};
  } else if (op == 0xa) {
    ev = {kind::pong, std::move(payload_buf), 0};
  } else if (payload_buf.empty()) {
    ev = {kind::close, {}, 1005};  // no status code given
  } else if (payload_buf.size() == 1) {
    return fail(protocol_error);
  } else {
    const auto code = static_cast<uint16_t>((byte(payload_buf, 0) << 8) | byte(payload_buf, 1));
    if (!valid_close_code(code)) return fail(protocol_error);
    ev = {kind::close, payload_buf.substr(2), code};
  }
  return used;
}

}  // namespace sb::net
