#include "cluster/record_writes.hpp"

#include <algorithm>

namespace sb::cluster {

namespace {

constexpr size_t writes_per_txn = 64;

// One transaction for writes[from, to): every compare must hold. Returns its revision, 0 if a
// compare failed, or -1 if etcd did not answer.
int64_t write_all(etcd_client& etcd, const std::vector<record_write>& writes, size_t from,
                  size_t to) {
  std::vector<etcd_compare> compares;
  std::vector<etcd_op> puts;
  for (size_t i = from; i < to; ++i) {
    const auto& w = writes[i];
    compares.push_back(
        {w.key, w.mod_revision == 0 ? etcd_compare::target::create : etcd_compare::target::mod,
         w.mod_revision, ""});
    puts.push_back({etcd_op::kind::put, w.key, w.value, 0, false});
  }
  std::string error;
  auto done = etcd.txn(compares, puts, {}, error);
  if (!done) return -1;
  return done->succeeded ? done->revision : 0;
}

}  // namespace

std::vector<int64_t> write_records(etcd_client& etcd, const std::vector<record_write>& writes) {
  std::vector<int64_t> revisions(writes.size(), 0);
  for (size_t at = 0; at < writes.size(); at += writes_per_txn) {
    const size_t end = std::min(writes.size(), at + writes_per_txn);
    const auto rev = write_all(etcd, writes, at, end);
    if (rev < 0) break;  // unreachable: the caller retries on its next pass
    if (rev > 0) {
      std::fill(revisions.begin() + static_cast<std::ptrdiff_t>(at),
                revisions.begin() + static_cast<std::ptrdiff_t>(end), rev);
      continue;
    }
    if (end - at == 1) continue;
    for (size_t i = at; i < end; ++i) {
      const auto one = write_all(etcd, writes, i, i + 1);
      if (one < 0) return revisions;
      revisions[i] = one;
    }
  }
  return revisions;
}

}  // namespace sb::cluster
