// Server-to-client WebSocket framing done by hand (RFC 6455 §5.2: a final, unmasked frame per
// message — text, or a ping/pong/close control frame —, no extensions), so that every frame queued
// for a socket since its last write goes out in one writev of header/payload buffers instead of one
// Beast async_write (a composed operation and a syscall) per frame. Payloads are the shared encoded
// frames, never copied.
#pragma once
#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sb::net {

// One queued frame: its payload and opcode (0x1 text, 0x8 close, 0x9 ping, 0xa pong; 0 for
// bytes written as they are: the handshake's response).
struct out_frame {
  std::shared_ptr<const std::string> payload;
  unsigned char opcode = 0x1;
};

class frame_gather {
 public:
  // 64 buffers: what asio hands to one writev.
  static constexpr size_t max_frames = 32;

  // Gathers the first frames of `queue` (up to max_frames); the buffers stay valid while those
  // frames are queued and until the next gather() (also after this object is moved: they point
  // into the vectors' storage).
  std::span<const boost::asio::const_buffer> gather(std::span<const out_frame> queue) {
    const size_t n = std::min(queue.size(), max_frames);
    headers_.resize(n);  // sized before any buffer points into it
    buffers_.clear();
    frames_ = n;
    bytes_ = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::string& payload = *queue[i].payload;
      const size_t header =
          queue[i].opcode ? encode_header(headers_[i], queue[i].opcode, payload.size()) : 0;
      if (header) buffers_.emplace_back(headers_[i].data(), header);
      buffers_.emplace_back(payload.data(), payload.size());
      bytes_ += header + payload.size();
    }
    return buffers_;
  }
  size_t frames() const { return frames_; }
  size_t bytes() const { return bytes_; }

 private:
  static size_t encode_header(std::array<unsigned char, 10>& h, unsigned char opcode, size_t len) {
    h[0] = 0x80 | opcode;  // FIN
    if (len < 126) {
      h[1] = static_cast<unsigned char>(len);
      return 2;
    }
    if (len <= 0xffff) {
      h[1] = 126;
      h[2] = static_cast<unsigned char>(len >> 8);
      h[3] = static_cast<unsigned char>(len);
      return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; ++i)
      h[2 + i] = static_cast<unsigned char>(static_cast<uint64_t>(len) >> (56 - 8 * i));
    return 10;
  }

  std::vector<std::array<unsigned char, 10>> headers_;
  std::vector<boost::asio::const_buffer> buffers_;
  size_t frames_ = 0;
  size_t bytes_ = 0;
};

}  // namespace sb::net
