#include "actors/interfaces.hpp"

#include "cluster/replication_messages.hpp"

namespace sb {

caf::error make_error(stream_errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), caf::atom("sb_stream"),
                    caf::make_message(std::move(message)));
}

std::string error_code(const caf::error& err) {
  // Cluster errors (cluster/cluster_errors.hpp): the owner is down or moving.
  if (err.category() == caf::atom("sb_cluster")) return "owner_unavailable";
  if (err.category() != caf::atom("sb_stream")) return "unavailable";
  switch (static_cast<stream_errc>(err.code())) {
    case stream_errc::storage_failed:
      return "unavailable";
    case stream_errc::poll_busy:
      return "rate_limited";
    case stream_errc::not_found:
      return "not_found";
    case stream_errc::forbidden:
      return "forbidden";
    case stream_errc::text_too_long:
      return "text_too_long";
    case stream_errc::invalid_text:
      return "invalid_text";
    case stream_errc::no_such_agent:
      return "no_such_agent";
    case stream_errc::agent_unavailable:
      return "agent_unavailable";
    case stream_errc::not_assigned:
      return "not_assigned";
    case stream_errc::invalid_field:
      return "invalid_field";
  }
  return "unavailable";
}

std::string error_message(const caf::error& err) {
  if ((err.category() == caf::atom("sb_stream") || err.category() == caf::atom("sb_cluster")) &&
      err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return "the request could not be completed";
}

// The other types in messages (atoms, integers, bool, std::string, std::vector<std::string>,
// caf::actor, caf::message, caf::error) are CAF builtins (caf/type_nr.hpp).
void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<chat_principal>("sb::chat_principal");
  cfg.add_message_type<append_request>("sb::append_request");
  cfg.add_message_type<append_result>("sb::append_result");
  cfg.add_message_type<frame_batch>("sb::frame_batch");
  cfg.add_message_type<poll_result>("sb::poll_result");
  cluster::register_replication_types(cfg);
}

}  // namespace sb
