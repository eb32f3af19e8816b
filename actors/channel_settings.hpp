// The channel-settings actor of one merchant, owner of the stream "channels:<merchant>": the
// merchant's WeChat and app channel settings, from the config file overlaid by what the admin
// API configured. The owner state holds the settings (secrets included, never logged); each
// change appends an entry without secrets, so the stream is the audit log of who changed what.
#pragma once
#include <string>

#include "actors/durable_stream.hpp"

namespace sb {

struct channel_settings_state {
  std::unique_ptr<durable_stream> stream;
  config::merchant_channels current;
  static inline const char* name = "sb.channel_settings";
};

// Messages, besides durable_stream's:
//   (get_atom)                                   -> std::string settings JSON (with secrets;
//                                                   channels/settings_json.hpp)
//   (configure_atom, by, channel, settings_json) -> append_result once durable; channel is
//        "wechat" or "app", settings_json that channel's settings ("" removes the channel)
caf::behavior channel_settings(caf::stateful_actor<channel_settings_state>* self,
                               std::string merchant, stream_deps deps);

}  // namespace sb
