// The client → server frame parser: whole and split frames, fragments with a ping between them,
// and the close codes it answers bad input with (Beast's: 1002, 1003, 1007, 1009).
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "net/ws_frame_reader.hpp"

namespace sb::net {
namespace {

using kind = ws_frame_reader::kind;

// A masked client frame (RFC 6455 §5.2).
std::string frame(uint8_t opcode, const std::string& payload, bool fin = true, bool mask = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  const uint8_t m = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(m | payload.size());
  } else if (payload.size() <= 0xffff) {
    f += static_cast<char>(m | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xff);
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (mask) f.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f += mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
  return f;
}

std::vector<ws_frame_reader::event> feed(ws_frame_reader& r, const std::string& bytes,
                                         size_t piece = 0) {
  std::vector<ws_frame_reader::event> out;
  auto on = [&](ws_frame_reader::event&& e) { out.push_back(std::move(e)); };
  if (!piece) piece = bytes.size();
  for (size_t i = 0; i < bytes.size(); i += piece)
    r.feed(std::string_view(bytes).substr(i, piece), on);
  return out;
}

TEST(WsFrameReader, WholeFramesInOneRead) {
  ws_frame_reader r(1024);
  auto ev = feed(r, frame(0x1, "{\"op\":\"hello\"}") + frame(0x9, "p") + frame(0x1, ""));
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].what, kind::text);
  EXPECT_EQ(ev[0].data, "{\"op\":\"hello\"}");
  EXPECT_EQ(ev[1].what, kind::ping);
  EXPECT_EQ(ev[1].data, "p");
  EXPECT_EQ(ev[2].what, kind::text);
  EXPECT_EQ(ev[2].data, "");
}

TEST(WsFrameReader, FramesSplitAtEveryByte) {
  ws_frame_reader r(100000);
  const std::string big(70000, 'x');  // a 64-bit length
  const std::string mid(300, 'y');    // a 16-bit length
  auto ev = feed(r, frame(0x1, big) + frame(0x1, mid) + frame(0xa, ""), 1);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].data, big);
  EXPECT_EQ(ev[1].data, mid);
  EXPECT_EQ(ev[2].what, kind::pong);
}

TEST(WsFrameReader, FragmentsWithAPingBetween) {
  ws_frame_reader r(1024);
  auto ev =
      feed(r, frame(0x1, "ab", false) + frame(0x9, "") + frame(0x0, "cd", false) + frame(0x0, "e"));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].what, kind::ping);
  EXPECT_EQ(ev[1].what, kind::text);
  EXPECT_EQ(ev[1].data, "abcde");
}

TEST(WsFrameReader, CloseWithAndWithoutCode) {
  ws_frame_reader a(1024);
  auto ev = feed(a, frame(0x8, std::string("\x03\xe8") + "bye") + frame(0x1, "ignored"));
  ASSERT_EQ(ev.size(), 1u);  // nothing after a close
  EXPECT_EQ(ev[0].what, kind::close);
  EXPECT_EQ(ev[0].code, 1000);
  EXPECT_EQ(ev[0].data, "bye");
  EXPECT_TRUE(a.done());
  ws_frame_reader b(1024);
  ev = feed(b, frame(0x8, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1005);
}

struct bad_case {
  const char* name;
  std::string bytes;
  uint16_t code;
};

void PrintTo(const bad_case& c, std::ostream* os) {
  *os << c.name;
}

class WsFrameReaderFails : public ::testing::TestWithParam<bad_case> {};

TEST_P(WsFrameReaderFails, AnswersWithTheCloseCode) {
  ws_frame_reader r(1024);
  auto ev = feed(r, GetParam().bytes);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::fail);
  EXPECT_EQ(ev[0].code, GetParam().code);
  EXPECT_TRUE(r.done());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WsFrameReaderFails,
    ::testing::Values(
        bad_case{"unmasked", frame(0x1, "x", true, false), 1002},
        bad_case{"binary", frame(0x2, "x"), 1003},
        bad_case{"reserved_opcode", frame(0x3, "x"), 1002},
        bad_case{"stray_continuation", frame(0x0, "x"), 1002},
        bad_case{"text_inside_a_message", frame(0x1, "a", false) + frame(0x1, "b"), 1002},
        bad_case{"fragmented_ping", frame(0x9, "x", false), 1002},
        bad_case{"long_ping", frame(0x9, std::string(126, 'x')), 1002},
        bad_case{"bad_close_code", frame(0x8, std::string("\x03\xed", 2)), 1002},
        bad_case{"invalid_utf8", frame(0x1, "\xC3\x28"), 1007},
        // Only the header has arrived: the size is refused before the payload is read.
        bad_case{"too_big", frame(0x1, std::string(2000, 'x')).substr(0, 8), 1009},
        bad_case{"too_big_in_fragments",
                 frame(0x1, std::string(600, 'x'), false) + frame(0x0, std::string(600, 'x')),
                 1009}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sb::net
