// Stream keys and which streams a principal reads: the naming scheme of ../shared/CONTRACT.md
// ("orders:<merchant>", "conv:<id>", "inbox:<sub>"), prefixes from base/actor_kinds.hpp.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/actor_kinds.hpp"
#include "base/partition.hpp"
#include "codec/jwt.hpp"

namespace sb {

inline std::string orders_stream(std::string_view merchant) {
  return key_of(actor_kind::merchant, merchant);
}

inline std::string inbox_stream(std::string_view sub) {
  return key_of(actor_kind::inbox, sub);
}

inline std::string conv_stream(std::string_view conv_id) {
  return key_of(actor_kind::conversation, conv_id);
}

// A merchant's channel settings; its entries are the audit log of changes (no secrets).
inline std::string channels_stream(std::string_view merchant) {
  return key_of(actor_kind::channels, merchant);
}

// The registry key of a merchant's agent pool (an actor without a stream).
inline std::string pool_key(std::string_view merchant) {
  return key_of(actor_kind::pool, merchant);
}

// A customer has one conversation per merchant; its id is derived, so a customer's stream is
// known before the conversation is opened: "c" + 16 hex digits.
inline std::string conversation_id(std::string_view merchant, std::string_view customer) {
  const uint64_t h = fnv1a64(std::string(merchant) + "\n" + std::string(customer));
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "c";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(h >> shift) & 0xf];
  return id;
}

// The streams a principal reads from its hello on, whatever else it is given later (agents are
// subscribed to the conversations assigned to them by the agent pool).
inline std::vector<std::string> readable_streams(const codec::principal& p) {
  if (p.mid == "*") return {};
  if (p.role == "merchant") return {orders_stream(p.mid)};
  if (p.role == "customer") return {conv_stream(conversation_id(p.mid, p.sub))};
  if (p.role == "agent") return {inbox_stream(p.sub)};
  return {};
}

}  // namespace sb
