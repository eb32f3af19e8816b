// The JSON protocol spoken with browsers (docs/PROTOCOL.md): parsing client WebSocket frames
// with every malformed case mapped to a clear error, and encoding server frames and HTTP error
// bodies. Pure functions; safe from any thread. No Beast, no CAF.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sb::codec {

struct json_limits {
  size_t max_bytes = 64 * 1024;  // frame or body size
  size_t max_depth = 16;         // nesting of arrays/objects
};

enum class client_op { hello, ack, send, typing, resolve, transfer, take, leave, presence };

// One parsed client frame; only the fields of its op are set.
struct client_frame {
  client_op op = client_op::hello;
  std::vector<std::pair<std::string, uint64_t>> resume;  // hello: stream -> last_seq
  std::string stream;                                    // ack
  uint64_t seq = 0;                                      // ack
  std::string conv;    // send, typing, resolve, transfer, take, leave
  std::string id;      // send (client-chosen, idempotent)
  std::string text;    // send
  std::string name;    // send, optional: the sender's display name (shown to the other side)
  std::string to;      // transfer (agent sub; empty = back to the queue)
  std::string status;  // presence: "online" | "away"
};

// An error answered to the client. `code` is a stable machine string (see docs/PROTOCOL.md):
// "frame_too_large" ("body_too_large" for HTTP bodies), "invalid_utf8", "malformed_json",
// "too_deep", "not_an_object", "missing_op", "unknown_op", "missing_field", "invalid_field".
struct protocol_error {
  std::string code;
  std::string message;
  std::string ref;  // the op the error answers, if it could be read
};

// Checks in order: size, UTF-8, syntax, depth, top-level object, op, the op's fields (first
// bad one reported). Optional fields (hello.resume, transfer.to, send.name) may be absent or
// null; send.name is 1..64 characters of valid UTF-8 without control characters;
// unknown fields are ignored; hello.resume holds at most 64 streams.
std::variant<client_frame, protocol_error> parse_client_frame(std::string_view text,
                                                              const json_limits& limits);

// Checks an HTTP JSON body the way frames are checked: size (code "body_too_large"), UTF-8,
// syntax, depth, top-level object. Returns the error, or one with an empty code on success.
protocol_error check_json_body(std::string_view body, const json_limits& limits);

// Ids that appear in stream names and keys (merchant ids, principal subs, conversation ids,
// order ids, client message ids): 1..128 bytes of [A-Za-z0-9_.:@-].
bool valid_id(std::string_view id);

// A validated order (POST /api/orders): the body must be an object with string `merchant`
// (valid_id) and `order_id` (string valid_id, or a non-negative integer, given in decimal).
// `data` is the body without insignificant whitespace; numbers and strings keep the client's
// spelling.
struct order_input {
  std::string merchant;
  std::string order_id;
  std::string data;
};
std::variant<order_input, protocol_error> parse_order(std::string_view body,
                                                      const json_limits& limits);

// Server → client frames (compact JSON, one line each). `data_json` is inserted verbatim and
// must be valid JSON.
std::string encode_push(std::string_view stream, uint64_t seq, std::string_view id, int64_t ts_ms,
                        std::string_view kind, std::string_view data_json);
std::string encode_welcome(std::string_view node, std::string_view principal,
                           const std::vector<std::string>& streams);
std::string encode_sent(std::string_view id, std::string_view conv, uint64_t seq);
std::string encode_error_frame(std::string_view code, std::string_view message,
                               std::string_view ref);
std::string encode_event(std::string_view kind, std::string_view conv, std::string_view data_json);
// HTTP error body: {"error":code,"message":message}
std::string encode_http_error(std::string_view code, std::string_view message);
// JSON string literal with quotes, escaped (RFC 8259: quote, backslash, control characters as
// \u00XX). Valid UTF-8 is kept as is; bytes that are not valid UTF-8 become U+FFFD so the
// output is always valid JSON text.
std::string json_quote(std::string_view s);
// The same, appended to `out` (for encoders that build a frame in one buffer).
void json_quote_append(std::string& out, std::string_view s);

}  // namespace sb::codec
