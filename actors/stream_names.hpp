// Stream keys and which streams a principal reads. The one place that knows the naming
// scheme of ../shared/CONTRACT.md ("orders:<merchant>", "conv:<id>", "inbox:<sub>").
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "net/codec/jwt.hpp"

namespace sb {

inline std::string orders_stream(std::string_view merchant) {
  return "orders:" + std::string(merchant);
}

// The streams a principal reads on its WebSocket and long-poll.
inline std::vector<std::string> readable_streams(const codec::principal& p) {
  if (p.role == "merchant" && p.mid != "*") return {orders_stream(p.mid)};
  return {};
}

}  // namespace sb
