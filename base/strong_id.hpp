// A value wrapped in a type of its own, so that two ids with the same representation (a
// partition and a port, a merchant and a conversation) cannot be passed for each other.
// Header-only value type; safe from any thread.
#pragma once
#include <compare>
#include <cstddef>
#include <functional>
#include <ostream>
#include <utility>

namespace sb {

// `Tag` only makes the type distinct: struct node_id_tag {}; using node_id = strong_id<…>.
template <class Tag, class T>
class strong_id {
 public:
  using value_type = T;

  constexpr strong_id() = default;
  // Explicit: a bare value never becomes an id by accident.
  constexpr explicit strong_id(T value) : value_(std::move(value)) {}

  constexpr const T& value() const { return value_; }

  friend bool operator==(const strong_id&, const strong_id&) = default;
  friend auto operator<=>(const strong_id&, const strong_id&) = default;

  friend std::ostream& operator<<(std::ostream& out, const strong_id& id) {
    return out << id.value_;
  }

 private:
  T value_{};
};

}  // namespace sb

template <class Tag, class T>
struct std::hash<sb::strong_id<Tag, T>> {
  size_t operator()(const sb::strong_id<Tag, T>& id) const { return std::hash<T>{}(id.value()); }
};
