// A std::deque made on first use. libstdc++'s deque allocates its map and a 512-byte node
// even when empty; a stream owner holds three (appends not yet submitted, appends in flight,
// the tail cache), ~1.7 KB for an owner whose dashboards are open and idle. The members are
// the subset durable_stream uses.
#pragma once
#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

namespace sb {

template <class T>
class lazy_deque {
 public:
  using value_type = T;
  using iterator = typename std::deque<T>::iterator;
  using const_iterator = typename std::deque<T>::const_iterator;

  bool empty() const { return !items_ || items_->empty(); }
  size_t size() const { return items_ ? items_->size() : 0; }

  void push_back(T&& x) { made().push_back(std::move(x)); }
  void push_back(const T& x) { made().push_back(x); }
  void pop_front() { items_->pop_front(); }
  void clear() {
    if (items_) items_->clear();
  }
  // Frees the storage of an empty deque (not on every clear: a busy owner would allocate it
  // again for its next append).
  void release_if_empty() {
    if (items_ && items_->empty()) items_.reset();
  }

  T& front() { return items_->front(); }
  const T& front() const { return items_->front(); }
  T& back() { return items_->back(); }
  const T& back() const { return items_->back(); }
  T& operator[](size_t i) { return (*items_)[i]; }
  const T& operator[](size_t i) const { return (*items_)[i]; }

  // Value-initialized deque iterators compare equal: an unmade deque is an empty range.
  iterator begin() { return items_ ? items_->begin() : iterator{}; }
  iterator end() { return items_ ? items_->end() : iterator{}; }
  const_iterator begin() const { return items_ ? items_->cbegin() : const_iterator{}; }
  const_iterator end() const { return items_ ? items_->cend() : const_iterator{}; }

 private:
  std::deque<T>& made() {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    return *items_;
  }

  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace sb
