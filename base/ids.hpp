// The ids and closed vocabularies every layer shares, as types of their own instead of bare
// integers and strings (base/strong_id.hpp). Header-only; safe from any thread.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/strong_id.hpp"

namespace sb {

using node_id = strong_id<struct node_id_tag, std::string>;
// One of partition_count key ranges (base/partition.hpp). CAF messages carry .value().
using partition_id = strong_id<struct partition_id_tag, uint16_t>;
using merchant_id = strong_id<struct merchant_id_tag, std::string>;
using conv_id = strong_id<struct conv_id_tag, std::string>;
// The JWT subject: a customer, agent, service or admin.
using principal_id = strong_id<struct principal_id_tag, std::string>;
// A stream's name, e.g. "orders:m1" (actors/stream_names.hpp).
using stream_key = strong_id<struct stream_key_tag, std::string>;
using seq_no = strong_id<struct seq_no_tag, uint64_t>;

enum class conv_status { unassigned, in_progress, resolved };
enum class role { merchant, agent, customer, service, admin };
enum class routing_strategy { weighted_least_load, round_robin };

namespace detail {

// The one spelling of each enumerator, as stored and as sent on the wire.
template <class E, size_t N>
using names = std::array<std::pair<E, std::string_view>, N>;

inline constexpr names<conv_status, 3> conv_status_names{{
    {conv_status::unassigned, "unassigned"},
    {conv_status::in_progress, "in_progress"},
    {conv_status::resolved, "resolved"},
}};
inline constexpr names<role, 5> role_names{{
    {role::merchant, "merchant"},
    {role::agent, "agent"},
    {role::customer, "customer"},
    {role::service, "service"},
    {role::admin, "admin"},
}};
inline constexpr names<routing_strategy, 2> strategy_names{{
    {routing_strategy::weighted_least_load, "weighted_least_load"},
    {routing_strategy::round_robin, "round_robin"},
}};

template <class E, size_t N>
constexpr std::string_view name_of(const names<E, N>& table, E e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return {};
}

template <class E, size_t N>
constexpr std::optional<E> parse(const names<E, N>& table, std::string_view s) {
  for (const auto& [value, name] : table)
    if (name == s) return value;
  return std::nullopt;
}

}  // namespace detail

constexpr std::string_view to_string(conv_status s) {
  return detail::name_of(detail::conv_status_names, s);
}
constexpr std::string_view to_string(role r) {
  return detail::name_of(detail::role_names, r);
}
constexpr std::string_view to_string(routing_strategy s) {
  return detail::name_of(detail::strategy_names, s);
}

// Exact, case-sensitive spellings only; nullopt for anything else.
constexpr std::optional<conv_status> parse_conv_status(std::string_view s) {
  return detail::parse(detail::conv_status_names, s);
}
constexpr std::optional<role> parse_role(std::string_view s) {
  return detail::parse(detail::role_names, s);
}
constexpr std::optional<routing_strategy> parse_routing_strategy(std::string_view s) {
  return detail::parse(detail::strategy_names, s);
}

}  // namespace sb
