// Order statuses a merchant sets on its dashboard (docs/PROTOCOL.md, "Order status"): new →
// accepted → done, each recorded as an "order_status" entry {"order_id","status","by"} on the
// merchant's stream orders:<merchant>, so history and live pushes carry them like orders.
// Pure functions over the store; called on the merchant actor's thread.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

#include "storage/stream_store.hpp"

namespace sb::order_status {

// How many of a stream's newest entries are searched for an order: older orders cannot be
// given a status (a bound on the work one request may cause).
constexpr size_t search_window = 5000;

// The status that may follow `current`: "accepted" after "new", "done" after "accepted", ""
// after "done" (final).
std::string next(const std::string& current);

// The order's current status, from the newest `window` entries of `stream`: "new" while it has
// no status entry; nullopt when no order with that id is among them.
std::optional<std::string> find(const storage::stream_store& store, const std::string& stream,
                                const std::string& order_id, size_t window = search_window);

}  // namespace sb::order_status
