// Writing many partition records to etcd at once (the controller's assignments, a takeover's
// reserve and commit): each write is a compare-and-swap on the record's mod revision (or
// "create if absent"), up to 64 of them per transaction (etcd's --max-txn-ops is 128 by
// default). A transaction refused because one record changed meanwhile is retried one record
// at a time, so one stale record does not hold back the others.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/etcd_client.hpp"

namespace sb::cluster {

struct record_write {
  std::string key;
  int64_t mod_revision = 0;  // 0: only if the key does not exist yet
  std::string value;
};

// Per write, in order: the etcd revision it was written at, or 0 if it was not (changed
// meanwhile, or etcd could not be reached).
std::vector<int64_t> write_records(etcd_client& etcd, const std::vector<record_write>& writes);

}  // namespace sb::cluster
