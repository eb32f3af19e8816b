// lazy_deque: a deque made on first push, an empty range until then, storage freed only when
// asked while empty.
#include "actors/lazy_deque.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sb {
namespace {

TEST(LazyDeque, UnmadeIsAnEmptyRange) {
  lazy_deque<std::string> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(std::distance(q.begin(), q.end()), 0);
  const auto& cq = q;
  EXPECT_EQ(std::distance(cq.begin(), cq.end()), 0);
  q.clear();
  q.release_if_empty();
  EXPECT_TRUE(q.empty());
}

TEST(LazyDeque, KeepsOrderAcrossPushPopAndMoveOut) {
  lazy_deque<std::string> q;
  q.push_back("a");
  const std::string b = "b";
  q.push_back(b);
  q.push_back("c");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.front(), "a");
  EXPECT_EQ(q.back(), "c");
  EXPECT_EQ(q[1], "b");
  q.pop_front();
  lazy_deque<std::string> out;
  std::move(q.begin(), q.end(), std::back_inserter(out));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(std::vector<std::string>(out.begin(), out.end()), (std::vector<std::string>{"b", "c"}));
  q.push_back("d");  // usable after clear
  EXPECT_EQ(q.front(), "d");
}

TEST(LazyDeque, ReleasesOnlyWhenEmpty) {
  lazy_deque<int> q;
  q.push_back(1);
  q.release_if_empty();
  ASSERT_EQ(q.size(), 1u);  // not empty: kept
  EXPECT_EQ(q.front(), 1);
  q.pop_front();
  q.release_if_empty();
  EXPECT_TRUE(q.empty());
  q.push_back(2);  // made again
  EXPECT_EQ(q.front(), 2);
}

}  // namespace
}  // namespace sb
