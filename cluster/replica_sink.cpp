#include "cluster/replica_sink.hpp"

#include "base/partition.hpp"
#include "cluster/cluster_errors.hpp"
#include "cluster/replication_messages.hpp"

namespace sb::cluster {

caf::behavior replica_sink(caf::event_based_actor* self, storage::stream_store* store) {
  using result = caf::result<storage::replica_state, std::string>;
  using sealed_result = caf::result<std::vector<storage::replica_state>, std::string>;
  return {
      [store](rappend_atom, const std::string&, const std::vector<storage::replica_round>& rounds) {
        return store->apply_replicated(rounds);
      },
      [store](rseal_atom, const std::vector<storage::seal_request>& requests) -> sealed_result {
        std::string error;
        auto states = store->seal(requests, error);
        if (!states)
          return make_cluster_error(cluster_errc::owner_unavailable, "seal failed: " + error);
        return {std::move(*states), store->storage_uuid()};
      },
      [store](rstate_atom, uint16_t p) -> result {
        if (p >= partition_count)
          return make_cluster_error(cluster_errc::owner_unavailable, "no partition");
        return {store->replica(partition_id{p}), store->storage_uuid()};
      },
  };
}

}  // namespace sb::cluster
