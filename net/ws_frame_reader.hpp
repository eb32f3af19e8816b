// Parses the client → server side of RFC 6455 (masked frames, no extensions) from whatever bytes
// the socket gave, so that the session can read into a buffer shared by all sockets of a thread
// and answer pings and closes through its own write queue (Beast's stream answers them itself,
// which collides with our hand-framed writes). Holds memory only while a frame or a fragmented
// message is incomplete. Not thread-safe: one per socket, used on its strand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::net {

class ws_frame_reader {
 public:
  enum class kind : uint8_t { text, ping, pong, close, fail };
  // text: a whole message (data); ping/pong: the payload; close: code (1005 if none) and
  // reason; fail: the close code to answer with (1002, 1003, 1007, 1009). After close or fail
  // the reader consumes nothing more.
  struct event {
    kind what;
    std::string data;
    uint16_t code = 0;
  };

  explicit ws_frame_reader(size_t max_message) : max_message_(max_message) {}

  // Consumes `in`, calling `on(event&&)` for each complete message or control frame.
  template <class F>
  void feed(std::string_view in, F&& on) {
    if (done_) return;
    if (pending_.empty()) {
      const size_t used = parse(in, on);
      if (!done_) pending_.assign(in.substr(used));
      return;
    }
    pending_.append(in);
    const size_t used = parse(pending_, on);
    if (done_ || used == pending_.size())
      pending_ = std::string();  // release the buffer, not just its contents
    else
      pending_.erase(0, used);
  }

  bool done() const { return done_; }

 private:
  // Parses whole frames from the front of `in`; returns the bytes used.
  template <class F>
  size_t parse(std::string_view in, F& on) {
    size_t used = 0;
    while (!done_) {
      event ev;
      bool complete = false;
      const size_t n = next_frame(in.substr(used), ev, complete);
      if (n == 0) break;
      used += n;
      if (!complete) continue;
      if (ev.what == kind::close || ev.what == kind::fail) done_ = true;
      on(std::move(ev));
    }
    return used;
  }

  // One frame from the front of `in`: 0 if it is incomplete, else the bytes it used; `complete`
  // says whether `ev` holds an event (a fragment that ends no message holds none). A frame
  // that fails on its header uses all of `in`.
  size_t next_frame(std::string_view in, event& ev, bool& complete);

  size_t max_message_;
  std::string pending_;  // bytes of an incomplete frame
  std::string message_;  // a fragmented text message being assembled
  bool in_message_ = false;
  bool done_ = false;
};

}  // namespace sb::net
