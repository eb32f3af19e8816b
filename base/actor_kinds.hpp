// The kinds of owner actor and the key prefix of each: the one table behind the registry's
// spawning (main.cpp), its inspection answers (cluster/registry.cpp), sbctl's
// "<kind>/<id>" addressing (net/cluster_routes.cpp) and the stream names
// (actors/stream_names.hpp). Header-only; safe from any thread.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sb {

enum class actor_kind { merchant, conversation, inbox, pool, channels };

struct actor_kind_info {
  actor_kind kind;
  std::string_view name;    // as sbctl and /admin/actors say it
  std::string_view prefix;  // of its registry key
};

inline constexpr std::array<actor_kind_info, 5> actor_kinds{{
    {actor_kind::merchant, "merchant", "orders:"},
    {actor_kind::conversation, "conversation", "conv:"},
    {actor_kind::inbox, "inbox", "inbox:"},
    {actor_kind::pool, "pool", "pool:"},
    {actor_kind::channels, "channels", "channels:"},
}};

inline constexpr const actor_kind_info& info_of(actor_kind kind) {
  return actor_kinds[static_cast<size_t>(kind)];
}

// "orders:" + id for actor_kind::merchant, and so on.
inline std::string key_of(actor_kind kind, std::string_view id) {
  return std::string(info_of(kind).prefix) + std::string(id);
}

// A registry key split into its kind and id; nullopt for a key of no kind.
struct parsed_actor_key {
  actor_kind kind;
  std::string id;
};
inline std::optional<parsed_actor_key> parse_actor_key(std::string_view key) {
  for (const auto& k : actor_kinds)
    if (key.starts_with(k.prefix))
      return parsed_actor_key{k.kind, std::string(key.substr(k.prefix.size()))};
  return std::nullopt;
}

// The kind named `name` ("merchant", …), if any.
inline std::optional<actor_kind> kind_named(std::string_view name) {
  for (const auto& k : actor_kinds)
    if (k.name == name) return k.kind;
  return std::nullopt;
}

}  // namespace sb
