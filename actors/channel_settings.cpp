#include "actors/channel_settings.hpp"

#include <boost/json.hpp>

#include "actors/owner_support.hpp"
#include "actors/stream_names.hpp"
#include "channels/settings_json.hpp"

namespace sb {

namespace json = boost::json;

caf::behavior channel_settings(caf::stateful_actor<channel_settings_state>* self,
                               std::string merchant, stream_deps deps) {
  auto& st = self->state;
  st.stream = std::make_unique<durable_stream>(self, channels_stream(merchant), deps);
  if (auto it = deps.cfg->channels.merchants.find(merchant);
      it != deps.cfg->channels.merchants.end())
    st.current = it->second;
  // What the admin API stored wins over the file: it is the later decision.
  if (auto stored = deps.store->state(st.stream->name()))
    if (auto parsed = channels::settings_from_json(*stored)) st.current = *parsed;
  caf::message_handler own{
      [self](get_atom) { return channels::settings_to_json(self->state.current, false); },
      [self, merchant](configure_atom, const std::string& by, const std::string& channel,
                       const std::string& settings) {
        auto rp = self->make_response_promise();
        auto next = self->state.current;
        auto parsed = settings.empty() ? std::nullopt : channels::settings_from_json(settings);
        if (channel == "wechat")
          next.wechat = parsed ? parsed->wechat : std::nullopt;
        else if (channel == "app")
          next.app = parsed ? parsed->app : std::nullopt;
        else {
          rp.deliver(make_error(stream_errc::invalid_field, "unknown channel " + channel));
          return rp;
        }
        const bool present = channel == "wechat" ? next.wechat.has_value() : next.app.has_value();
        if (!settings.empty() && !present) {
          rp.deliver(make_error(stream_errc::invalid_field, "unreadable channel settings"));
          return rp;
        }
        if (auto err = config::validate_channels(merchant, next); !err.empty()) {
          rp.deliver(make_error(stream_errc::invalid_field, err));
          return rp;
        }
        self->state.current = next;
        json::object audit{
            {"channel", channel}, {"by", by}, {"action", settings.empty() ? "removed" : "set"}};
        self->state.stream->append(append_request{"configured", json::serialize(audit), "",
                                                  channels::settings_to_json(next, false)},
                                   rp);
        return rp;
      },
  };
  return owner_behavior(self, deps, std::move(own));
}

}  // namespace sb
