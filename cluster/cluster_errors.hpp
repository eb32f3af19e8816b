// Errors of the cluster layer (category "sb_cluster"), as the registry answers a resolve.
// actors/interfaces.cpp maps them to the wire code "owner_unavailable" (HTTP 503).
#pragma once
#include <cstdint>
#include <string>

#include <caf/all.hpp>

namespace sb::cluster {

enum class cluster_errc : uint8_t {
  owner_unavailable = 1,  // the owner node is down, or not known yet: answer 503 fast
  moving = 2,             // the partition is being handed over: retry shortly
  moved = 3,              // asked node does not own the key (a stale route): re-resolve
};

inline caf::error make_cluster_error(cluster_errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), caf::atom("sb_cluster"),
                    caf::make_message(std::move(message)));
}

// A resolve that may succeed if tried again a moment later (a move in progress, a stale route).
inline bool retryable(const caf::error& err) {
  return err.category() == caf::atom("sb_cluster") &&
         err.code() != static_cast<uint8_t>(cluster_errc::owner_unavailable);
}

}  // namespace sb::cluster
