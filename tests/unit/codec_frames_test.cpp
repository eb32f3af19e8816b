// The JSON protocol: every malformed client frame gets its specific error, valid frames of every
// op parse, HTTP bodies and orders are checked the same way, and encoders emit JSON that parses
// back to what went in.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "codec/frames.hpp"

namespace sb::codec {
namespace {

namespace json = boost::json;

client_frame parse_ok(std::string_view text, const json_limits& limits = {}) {
  auto result = parse_client_frame(text, limits);
  if (const auto* e = std::get_if<protocol_error>(&result)) {
    ADD_FAILURE() << text << " -> " << e->code << ": " << e->message;
    return {};
  }
  return std::get<client_frame>(result);
}

protocol_error parse_error(std::string_view text, const json_limits& limits = {}) {
  auto result = parse_client_frame(text, limits);
  if (!std::holds_alternative<protocol_error>(result)) {
    ADD_FAILURE() << text << " parsed";
    return {};
  }
  return std::get<protocol_error>(result);
}

std::string nested_arrays(size_t depth) {
  return R"({"op":"hello","x":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string resume_with(size_t streams) {
  std::string s = R"({"op":"hello","resume":{)";
  for (size_t i = 0; i < streams; ++i) {
    if (i) s += ',';
    s += "\"conv:c" + std::to_string(i) + "\":" + std::to_string(i);
  }
  return s + "}}";
}

struct bad_frame {
  const char* name;
  std::string text;
  const char* code;
  const char* ref;
  const char* field;  // must appear in the message; "" when the error names no field
};

class MalformedFrame : public ::testing::TestWithParam<bad_frame> {};

TEST_P(MalformedFrame, GetsItsSpecificError) {
  const bad_frame& c = GetParam();
  const protocol_error e = parse_error(c.text);
  EXPECT_EQ(e.code, c.code);
  EXPECT_EQ(e.ref, c.ref);
  EXPECT_NE(e.message.find(c.field), std::string::npos) << e.message;
  EXPECT_FALSE(e.message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedFrame,
    ::testing::Values(
        // Before the op is known: no ref.
        bad_frame{"raw_invalid_utf8", "\xFF", "invalid_utf8", "", ""},
        bad_frame{"invalid_utf8_in_string",
                  "{\"op\":\"send\",\"conv\":\"c\",\"id\":\"i\",\"text\":\"\xC0\xAF\"}",
                  "invalid_utf8", "", ""},
        bad_frame{"surrogate_in_string", "{\"op\":\"typing\",\"conv\":\"\xED\xA0\x80\"}",
                  "invalid_utf8", "", ""},
        bad_frame{"escaped_lone_surrogate", R"({"op":"typing","conv":"\ud800"})", "malformed_json",
                  "", ""},
        bad_frame{"empty", "", "malformed_json", "", ""},
        bad_frame{"unterminated", R"({"op":"ack")", "malformed_json", "", ""},
        bad_frame{"trailing_comma", R"({"op":"ack",})", "malformed_json", "", ""},
        bad_frame{"single_quotes", R"({'op':'ack'})", "malformed_json", "", ""},
        bad_frame{"comment", R"({"op":"hello"/* hi */})", "malformed_json", "", ""},
        bad_frame{"trailing_garbage", R"({"op":"hello"} x)", "malformed_json", "", ""},
        bad_frame{"two_objects", R"({"op":"hello"}{"op":"hello"})", "malformed_json", "", ""},
        bad_frame{"too_deep", nested_arrays(16), "too_deep", "", ""},
        bad_frame{"array", R"([{"op":"hello"}])", "not_an_object", "", ""},
        bad_frame{"string", R"("hello")", "not_an_object", "", ""},
        bad_frame{"number", "42", "not_an_object", "", ""},
        bad_frame{"null", "null", "not_an_object", "", ""},
        bad_frame{"no_op", R"({})", "missing_op", "", "op"},
        bad_frame{"op_number", R"({"op":1})", "missing_op", "", "op"},
        bad_frame{"op_null", R"({"op":null})", "missing_op", "", "op"},
        bad_frame{"op_unknown", R"({"op":"bye"})", "unknown_op", "bye", "op"},
        bad_frame{"op_wrong_case", R"({"op":"HELLO"})", "unknown_op", "HELLO", "op"},
        // hello
        bad_frame{"resume_array", R"({"op":"hello","resume":[1]})", "invalid_field", "hello",
                  "resume"},
        bad_frame{"resume_negative", R"({"op":"hello","resume":{"orders:m1":-1}})", "invalid_field",
                  "hello", "resume"},
        bad_frame{"resume_string_seq", R"({"op":"hello","resume":{"orders:m1":"4"}})",
                  "invalid_field", "hello", "resume"},
        bad_frame{"resume_double_seq", R"({"op":"hello","resume":{"orders:m1":4.0}})",
                  "invalid_field", "hello", "resume"},
        bad_frame{"resume_too_many", resume_with(65), "invalid_field", "hello", "resume"},
        // ack
        bad_frame{"ack_no_stream", R"({"op":"ack","seq":1})", "missing_field", "ack", "stream"},
        bad_frame{"ack_stream_number", R"({"op":"ack","stream":1,"seq":1})", "invalid_field", "ack",
                  "stream"},
        bad_frame{"ack_no_seq", R"({"op":"ack","stream":"orders:m1"})", "missing_field", "ack",
                  "seq"},
        bad_frame{"ack_seq_negative", R"({"op":"ack","stream":"orders:m1","seq":-1})",
                  "invalid_field", "ack", "seq"},
        bad_frame{"ack_seq_double", R"({"op":"ack","stream":"orders:m1","seq":1.0})",
                  "invalid_field", "ack", "seq"},
        bad_frame{"ack_seq_exponent", R"({"op":"ack","stream":"orders:m1","seq":1e3})",
                  "invalid_field", "ack", "seq"},
        bad_frame{"ack_seq_string", R"({"op":"ack","stream":"orders:m1","seq":"1"})",
                  "invalid_field", "ack", "seq"},
        bad_frame{"ack_seq_too_big", R"({"op":"ack","stream":"s","seq":18446744073709551616})",
                  "invalid_field", "ack", "seq"},
        // send
        bad_frame{"send_no_conv", R"({"op":"send","id":"i","text":"t"})", "missing_field", "send",
                  "conv"},
        bad_frame{"send_conv_space", R"({"op":"send","conv":"a b","id":"i","text":"t"})",
                  "invalid_field", "send", "conv"},
        bad_frame{"send_conv_empty", R"({"op":"send","conv":"","id":"i","text":"t"})",
                  "invalid_field", "send", "conv"},
        bad_frame{"send_conv_too_long",
                  R"({"op":"send","conv":")" + std::string(129, 'c') + R"(","id":"i","text":"t"})",
                  "invalid_field", "send", "conv"},
        bad_frame{"send_no_id", R"({"op":"send","conv":"c","text":"t"})", "missing_field", "send",
                  "id"},
        bad_frame{"send_id_number", R"({"op":"send","conv":"c","id":5,"text":"t"})",
                  "invalid_field", "send", "id"},
        bad_frame{"send_no_text", R"({"op":"send","conv":"c","id":"i"})", "missing_field", "send",
                  "text"},
        bad_frame{"send_text_object", R"({"op":"send","conv":"c","id":"i","text":{}})",
                  "invalid_field", "send", "text"},
        bad_frame{"send_name_empty", R"({"op":"send","conv":"c","id":"i","text":"t","name":""})",
                  "invalid_field", "send", "name"},
        bad_frame{"send_name_newline",
                  R"({"op":"send","conv":"c","id":"i","text":"t","name":"a\nb"})", "invalid_field",
                  "send", "name"},
        bad_frame{"send_name_number", R"({"op":"send","conv":"c","id":"i","text":"t","name":7})",
                  "invalid_field", "send", "name"},
        bad_frame{"send_name_65_chars",
                  R"({"op":"send","conv":"c","id":"i","text":"t","name":")" + std::string(65, 'x') +
                      "\"}",
                  "invalid_field", "send", "name"},
        // typing, resolve, transfer
        bad_frame{"typing_no_conv", R"({"op":"typing"})", "missing_field", "typing", "conv"},
        bad_frame{"typing_conv_null", R"({"op":"typing","conv":null})", "invalid_field", "typing",
                  "conv"},
        bad_frame{"resolve_no_conv", R"({"op":"resolve"})", "missing_field", "resolve", "conv"},
        bad_frame{"take_no_conv", R"({"op":"take"})", "missing_field", "take", "conv"},
        bad_frame{"leave_no_conv", R"({"op":"leave"})", "missing_field", "leave", "conv"},
        bad_frame{"resolve_conv_slash", R"({"op":"resolve","conv":"a/b"})", "invalid_field",
                  "resolve", "conv"},
        bad_frame{"transfer_no_conv", R"({"op":"transfer","to":"bob"})", "missing_field",
                  "transfer", "conv"},
        bad_frame{"transfer_to_number", R"({"op":"transfer","conv":"c","to":7})", "invalid_field",
                  "transfer", "to"},
        bad_frame{"transfer_to_bad_id", R"({"op":"transfer","conv":"c","to":"bob smith"})",
                  "invalid_field", "transfer", "to"},
        // presence
        bad_frame{"presence_no_status", R"({"op":"presence"})", "missing_field", "presence",
                  "status"},
        bad_frame{"presence_busy", R"({"op":"presence","status":"busy"})", "invalid_field",
                  "presence", "status"},
        bad_frame{"presence_status_number", R"({"op":"presence","status":1})", "invalid_field",
                  "presence", "status"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClientFrame, HelloWithoutResume) {
  const client_frame f = parse_ok(R"({"op":"hello"})");
  EXPECT_EQ(f.op, client_op::hello);
  EXPECT_TRUE(f.resume.empty());
  EXPECT_TRUE(parse_ok(R"({"op":"hello","resume":null})").resume.empty());
}

TEST(ClientFrame, HelloWithResume) {
  const client_frame f = parse_ok(
      R"({"op":"hello","resume":{"orders:m1":41,"conv:c1":0,"inbox:a":18446744073709551615}})");
  EXPECT_EQ(f.op, client_op::hello);
  const std::vector<std::pair<std::string, uint64_t>> expected{
      {"orders:m1", 41}, {"conv:c1", 0}, {"inbox:a", UINT64_MAX}};
  EXPECT_EQ(f.resume, expected);
}

TEST(ClientFrame, HelloResumeAtMost64Streams) {
  EXPECT_EQ(parse_ok(resume_with(64)).resume.size(), 64u);
  EXPECT_EQ(parse_error(resume_with(65)).code, "invalid_field");
}

TEST(ClientFrame, Ack) {
  const client_frame f = parse_ok(R"({"op":"ack","stream":"orders:m1","seq":42})");
  EXPECT_EQ(f.op, client_op::ack);
  EXPECT_EQ(f.stream, "orders:m1");
  EXPECT_EQ(f.seq, 42u);
}

TEST(ClientFrame, SendKeepsTextAndIgnoresExtraFields) {
  const client_frame f = parse_ok(
      R"({"op":"send","conv":"c-1","id":"msg.1@x","text":"caf\u00e9 \"hi\"\n中","extra":[1,2]})");
  EXPECT_EQ(f.op, client_op::send);
  EXPECT_EQ(f.conv, "c-1");
  EXPECT_EQ(f.id, "msg.1@x");
  EXPECT_EQ(f.text, "caf\xC3\xA9 \"hi\"\n\xE4\xB8\xAD");
}

TEST(ClientFrame, SendTakesAnOptionalDisplayNameOfUpTo64Characters) {
  EXPECT_EQ(parse_ok(R"({"op":"send","conv":"c","id":"i","text":"t"})").name, "");
  EXPECT_EQ(parse_ok(R"({"op":"send","conv":"c","id":"i","text":"t","name":null})").name, "");
  EXPECT_EQ(parse_ok(R"({"op":"send","conv":"c","id":"i","text":"t","name":"张三 Li"})").name,
            "\xE5\xBC\xA0\xE4\xB8\x89 Li");
  std::string chars64;
  for (int i = 0; i < 64; ++i) chars64 += "\xE4\xB8\xAD";  // 中: 3 bytes, one character
  EXPECT_EQ(
      parse_ok(R"({"op":"send","conv":"c","id":"i","text":"t","name":")" + chars64 + "\"}").name,
      chars64);
}

TEST(ClientFrame, TypingAndResolve) {
  const client_frame t = parse_ok(R"({"op":"typing","conv":"c1"})");
  EXPECT_EQ(t.op, client_op::typing);
  EXPECT_EQ(t.conv, "c1");
  const client_frame r = parse_ok(R"({"op":"resolve","conv":"c2"})");
  EXPECT_EQ(r.op, client_op::resolve);
  EXPECT_EQ(r.conv, "c2");
}

TEST(ClientFrame, TransferWithAndWithoutTarget) {
  const client_frame to = parse_ok(R"({"op":"transfer","conv":"c1","to":"bob"})");
  EXPECT_EQ(to.op, client_op::transfer);
  EXPECT_EQ(to.conv, "c1");
  EXPECT_EQ(to.to, "bob");
  EXPECT_EQ(parse_ok(R"({"op":"transfer","conv":"c1"})").to, "");
  EXPECT_EQ(parse_ok(R"({"op":"transfer","conv":"c1","to":null})").to, "");
}

TEST(ClientFrame, Presence) {
  const client_frame online = parse_ok(R"({"op":"presence","status":"online"})");
  EXPECT_EQ(online.op, client_op::presence);
  EXPECT_EQ(online.status, "online");
  EXPECT_EQ(parse_ok(R"({"op":"presence","status":"away"})").status, "away");
}

TEST(ClientFrame, WhitespaceAroundTokensIsFine) {
  EXPECT_EQ(parse_ok(" \n{ \"op\" : \"ack\" , \"stream\" : \"s\" , \"seq\" : 1 }\t").seq, 1u);
}

TEST(ClientFrame, SizeLimitComesFirst) {
  json_limits limits;
  limits.max_bytes = 64;
  std::string frame = R"({"op":"hello","pad":")";
  frame += std::string(64 - frame.size() - 2, 'x') + "\"}";
  ASSERT_EQ(frame.size(), 64u);
  parse_ok(frame, limits);
  frame.insert(frame.size() - 2, "x");
  const protocol_error e = parse_error(frame, limits);
  EXPECT_EQ(e.code, "frame_too_large");
  EXPECT_EQ(e.ref, "");
  // Larger and not UTF-8: the size is what is reported.
  EXPECT_EQ(parse_error(std::string(65, '\xFF'), limits).code, "frame_too_large");
}

TEST(ClientFrame, DepthLimit) {
  // The frame object is one level; 15 arrays inside make 16.
  parse_ok(nested_arrays(15));
  EXPECT_EQ(parse_error(nested_arrays(16)).code, "too_deep");
  json_limits shallow;
  shallow.max_depth = 2;
  parse_ok(R"({"op":"hello","resume":{"s":1}})", shallow);
  EXPECT_EQ(parse_error(R"({"op":"hello","x":[[]]})", shallow).code, "too_deep");
}

TEST(ClientFrame, LargeFrameBeyondStackBuffer) {
  const std::string text(20000, 'y');
  const client_frame f = parse_ok(R"({"op":"send","conv":"c","id":"i","text":")" + text + "\"}");
  EXPECT_EQ(f.text, text);
}

TEST(ValidId, Table) {
  EXPECT_TRUE(valid_id("a"));
  EXPECT_TRUE(valid_id("AZaz09_.:@-"));
  EXPECT_TRUE(valid_id(std::string(128, 'x')));
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id(std::string(129, 'x')));
  for (const char* bad : {"a b", "a/b", "a\"b", "a\\b", "caf\xC3\xA9", "a\nb", "a*", "*"}) {
    EXPECT_FALSE(valid_id(bad)) << bad;
  }
}

TEST(JsonBody, AcceptsAnObject) {
  const protocol_error e = check_json_body(R"({"a":[1,{"b":null}]})", {});
  EXPECT_EQ(e.code, "");
}

TEST(JsonBody, ReportsEachProblem) {
  json_limits limits;
  limits.max_bytes = 32;
  limits.max_depth = 3;
  EXPECT_EQ(check_json_body(std::string(33, ' '), limits).code, "body_too_large");
  EXPECT_EQ(check_json_body("{\"a\":\"\xE0\x80\xAF\"}", limits).code, "invalid_utf8");
  EXPECT_EQ(check_json_body(R"({"a":)", limits).code, "malformed_json");
  EXPECT_EQ(check_json_body(R"({"a":[[[1]]]})", limits).code, "too_deep");
  EXPECT_EQ(check_json_body(R"({"a":[[1]]})", limits).code, "");
  EXPECT_EQ(check_json_body(R"([1])", limits).code, "not_an_object");
}

order_input order_ok(std::string_view body) {
  auto result = parse_order(body, {});
  if (const auto* e = std::get_if<protocol_error>(&result)) {
    ADD_FAILURE() << body << " -> " << e->code << ": " << e->message;
    return {};
  }
  return std::get<order_input>(result);
}

protocol_error order_error(std::string_view body) {
  auto result = parse_order(body, {});
  if (!std::holds_alternative<protocol_error>(result)) {
    ADD_FAILURE() << body << " parsed";
    return {};
  }
  return std::get<protocol_error>(result);
}

TEST(Order, StringOrderId) {
  const order_input o = order_ok(R"({"merchant":"m1","order_id":"A-1"})");
  EXPECT_EQ(o.merchant, "m1");
  EXPECT_EQ(o.order_id, "A-1");
  EXPECT_EQ(o.data, R"({"merchant":"m1","order_id":"A-1"})");
}

TEST(Order, IntegerOrderIdIsRenderedInDecimal) {
  EXPECT_EQ(order_ok(R"({"merchant":"m1","order_id":12345})").order_id, "12345");
  EXPECT_EQ(order_ok(R"({"merchant":"m1","order_id":0})").order_id, "0");
  EXPECT_EQ(order_ok(R"({"merchant":"m1","order_id":18446744073709551615})").order_id,
            "18446744073709551615");
}

TEST(Order, ExtraFieldsArePreservedCompactly) {
  const std::string body = R"({ "merchant" : "m1",
    "order_id" : "A-1",
    "total" : 12.5,
    "items" : [ { "sku" : "x 1", "qty" : 2 } ],
    "note" : "two  spaces, \"quoted\" \\ and\ttab \u00e9",
    "big" : 123456789012345678901234567890,
    "paid" : true, "coupon" : null })";
  const order_input o = order_ok(body);
  EXPECT_EQ(json::parse(o.data), json::parse(body));
  EXPECT_EQ(o.data.find('\n'), std::string::npos);
  EXPECT_EQ(o.data.find(": "), std::string::npos);
  // Numbers and strings keep the client's spelling.
  EXPECT_NE(o.data.find(R"("total":12.5,)"), std::string::npos) << o.data;
  EXPECT_NE(o.data.find(R"("big":123456789012345678901234567890,)"), std::string::npos);
  EXPECT_NE(o.data.find(R"("note":"two  spaces, \"quoted\" \\ and\ttab \u00e9")"),
            std::string::npos)
      << o.data;
}

TEST(Order, MissingOrWrongFields) {
  struct bad_order {
    const char* body;
    const char* code;
    const char* field;
  };
  for (const bad_order& c : {
           bad_order{R"({"order_id":"A-1"})", "missing_field", "merchant"},
           bad_order{R"({"merchant":7,"order_id":"A-1"})", "invalid_field", "merchant"},
           bad_order{R"({"merchant":"m 1","order_id":"A-1"})", "invalid_field", "merchant"},
           bad_order{R"({"merchant":"m1"})", "missing_field", "order_id"},
           bad_order{R"({"merchant":"m1","order_id":-1})", "invalid_field", "order_id"},
           bad_order{R"({"merchant":"m1","order_id":1.5})", "invalid_field", "order_id"},
           bad_order{R"({"merchant":"m1","order_id":true})", "invalid_field", "order_id"},
           bad_order{R"({"merchant":"m1","order_id":"A 1"})", "invalid_field", "order_id"},
           bad_order{R"({"merchant":"m1","order_id":""})", "invalid_field", "order_id"},
           bad_order{R"(["m1"])", "not_an_object", ""},
           bad_order{"{\"merchant\":\"m\xFF\"}", "invalid_utf8", ""},
       }) {
    const protocol_error e = order_error(c.body);
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_NE(e.message.find(c.field), std::string::npos) << e.message;
  }
}

TEST(Order, BodySizeLimit) {
  json_limits limits;
  limits.max_bytes = 40;
  const std::string body = R"({"merchant":"m1","order_id":"A-1"})";
  EXPECT_TRUE(std::holds_alternative<order_input>(parse_order(body, limits)));
  const auto big = parse_order(body + std::string(7, ' '), limits);
  ASSERT_TRUE(std::holds_alternative<protocol_error>(big));
  EXPECT_EQ(std::get<protocol_error>(big).code, "body_too_large");
}

TEST(Encode, PushExactForm) {
  EXPECT_EQ(encode_push("orders:m1", 42, "x", 1732330000123, "order", R"({"a":1})"),
            R"({"op":"push","stream":"orders:m1","seq":42,"id":"x","ts":1732330000123,)"
            R"("kind":"order","data":{"a":1}})");
}

TEST(Encode, PushParsesBack) {
  const std::string data = R"({"merchant":"m1","order_id":"A-1","total":12.5})";
  const json::value v =
      json::parse(encode_push("orders:m1", UINT64_MAX, "0193-ab", -5, "order", data));
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("op"), "push");
  EXPECT_EQ(o.at("stream"), "orders:m1");
  EXPECT_EQ(o.at("seq").as_uint64(), UINT64_MAX);
  EXPECT_EQ(o.at("id"), "0193-ab");
  EXPECT_EQ(o.at("ts").as_int64(), -5);
  EXPECT_EQ(o.at("kind"), "order");
  EXPECT_EQ(o.at("data"), json::parse(data));
}

TEST(Encode, QuoteEscapesPerRfc8259) {
  EXPECT_EQ(json_quote(""), R"("")");
  EXPECT_EQ(json_quote("a\"b\\c\n"), R"("a\"b\\c\u000a")");
  EXPECT_EQ(json_quote(std::string("\x00\x1f\x7f", 3)), R"("\u0000\u001f)"
                                                        "\x7f\"");
  EXPECT_EQ(json_quote("/"), R"("/")");
  // Valid UTF-8 is kept as is.
  EXPECT_EQ(json_quote("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80\"");
}

TEST(Encode, QuoteRoundTripsEveryControlCharacter) {
  std::string s;
  for (int c = 0; c < 0x80; ++c) s.push_back(static_cast<char>(c));
  s += "\xC3\xA9\xF0\x9F\x98\x80";
  EXPECT_EQ(json::parse(json_quote(s)).as_string(), s);
}

TEST(Encode, QuoteReplacesInvalidUtf8) {
  const std::string quoted = json_quote(
      "a\xFF"
      "b\xC0\xAF"
      "c\xE4\xB8");
  EXPECT_EQ(json::parse(quoted).as_string(),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Encode, QuoteAppendAddsToBuffer) {
  std::string out = "x=";
  json_quote_append(out, "\"");
  EXPECT_EQ(out, R"(x="\"")");
}

TEST(Encode, Welcome) {
  const json::value v = json::parse(encode_welcome("node1", "al\"ice", {"orders:m1", "inbox:a"}));
  EXPECT_EQ(v, json::parse(R"({"op":"welcome","node":"node1","principal":"al\"ice",)"
                           R"("streams":["orders:m1","inbox:a"]})"));
  EXPECT_EQ(encode_welcome("n", "p", {}),
            R"({"op":"welcome","node":"n","principal":"p","streams":[]})");
}

TEST(Encode, Sent) {
  EXPECT_EQ(encode_sent("m-1", "c1", 7), R"({"op":"sent","id":"m-1","conv":"c1","seq":7})");
}

TEST(Encode, ErrorFrame) {
  const json::value v = json::parse(encode_error_frame("invalid_field", "bad\n\"x\"", "send"));
  EXPECT_EQ(v, json::parse(R"({"op":"error","code":"invalid_field","message":"bad\n\"x\"",)"
                           R"("ref":"send"})"));
  EXPECT_EQ(json::parse(encode_error_frame("malformed_json", "m", "")).at("ref"), "");
}

TEST(Encode, Event) {
  EXPECT_EQ(json::parse(encode_event("queue", "c1", R"({"position":1,"estimated_wait_s":30})")),
            json::parse(R"({"op":"event","kind":"queue","conv":"c1",)"
                        R"("data":{"position":1,"estimated_wait_s":30}})"));
}

TEST(Encode, HttpError) {
  EXPECT_EQ(encode_http_error("rate_limited", "slow \\ down"),
            R"({"error":"rate_limited","message":"slow \\ down"})");
}

TEST(Encode, ErrorFromParserRoundTrips) {
  const protocol_error e = parse_error(R"({"op":"ack","stream":"s"})");
  const json::value v = json::parse(encode_error_frame(e.code, e.message, e.ref));
  EXPECT_EQ(v.at("code"), "missing_field");
  EXPECT_EQ(v.at("ref"), "ack");
}

}  // namespace
}  // namespace sb::codec
