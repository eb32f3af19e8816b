#include "cluster/replication_messages.hpp"

namespace sb::cluster {

void register_replication_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<storage::replica_state>("sb::replica_state");
  cfg.add_message_type<storage::replica_round>("sb::replica_round");
  cfg.add_message_type<std::vector<storage::replica_round>>("std::vector<sb::replica_round>");
  cfg.add_message_type<std::vector<storage::replica_state>>("std::vector<sb::replica_state>");
  cfg.add_message_type<storage::seal_request>("sb::seal_request");
  cfg.add_message_type<std::vector<storage::seal_request>>("std::vector<sb::seal_request>");
  cfg.add_message_type<storage::replica_verdict>("sb::replica_verdict");
  cfg.add_message_type<std::vector<storage::replica_verdict>>("std::vector<sb::replica_verdict>");
}

}  // namespace sb::cluster
