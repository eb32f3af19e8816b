#include "actors/interfaces.hpp"

namespace sb {

caf::error make_error(stream_errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), caf::atom("sb_stream"),
                    caf::make_message(std::move(message)));
}

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<append_request>("sb::append_request");
  cfg.add_message_type<append_result>("sb::append_result");
}

}  // namespace sb
