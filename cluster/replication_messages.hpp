// The messages of replication (docs/replication.md) and the wire form of what they carry.
//   to a node's registry, which hands them to its replica_sink (from peers and the controller):
//     (rappend_atom, std::string from, std::vector<replica_round>) -> std::vector<replica_verdict>
//     (rseal_atom, std::vector<seal_request>)     -> (std::vector<replica_state> in request
//                                                    order, std::string storage_uuid)
//     (rstate_atom, uint16_t p)                   -> (replica_state, std::string storage_uuid)
//   to the local registry, for a named node's sink (the controller's takeover):
//     (rseal_atom, std::string node, std::vector<seal_request>), (rstate_atom, node, p)
//   local only, to the replicator:
//     (rjob_atom, replication_job_ptr)            a committed group-commit round
//     (rpeer_atom, std::string node, caf::actor)  a peer registry connected (invalid: lost)
//     (rswitched_atom, uint16_t p, int64_t rev)   its switch of p's replicas is in etcd at
//                                                 rev (0: refused or failed)
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "storage/group_commit.hpp"
#include "storage/replica_state.hpp"

namespace sb::cluster {

using rappend_atom = caf::atom_constant<caf::atom("rappend")>;
using rseal_atom = caf::atom_constant<caf::atom("rseal")>;
using rstate_atom = caf::atom_constant<caf::atom("rstate")>;
using rjob_atom = caf::atom_constant<caf::atom("rjob")>;
using rpeer_atom = caf::atom_constant<caf::atom("rpeer")>;
using rcopied_atom = caf::atom_constant<caf::atom("rcopied")>;
using rtick_atom = caf::atom_constant<caf::atom("rtick")>;
using rinspect_atom = caf::atom_constant<caf::atom("rinspect")>;
using rswitched_atom = caf::atom_constant<caf::atom("rswitched")>;

// One committed round of the group commit and who waits for it to be replicated.
struct replication_job {
  std::vector<storage::replica_round> rounds;
  storage::group_commit::callback done;
};
using replication_job_ptr = std::shared_ptr<replication_job>;

void register_replication_types(caf::actor_system_config& cfg);

}  // namespace sb::cluster

// Local only (a callback inside): never sent to another node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::cluster::replication_job_ptr)

namespace sb::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_state& x) {
  return f(caf::meta::type_name("sb::replica_state"), x.sealed_epoch, x.last_epoch, x.last_lsn,
           x.copying);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_round& x) {
  return f(caf::meta::type_name("sb::replica_round"), x.partition, x.epoch, x.lsn, x.prev_epoch,
           x.prev_lsn, x.ops);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, seal_request& x) {
  return f(caf::meta::type_name("sb::seal_request"), x.partition, x.epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_verdict& x) {
  return f(caf::meta::type_name("sb::replica_verdict"), x.partition, x.kind, x.state);
}

}  // namespace sb::storage
