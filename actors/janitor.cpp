#include "actors/janitor.hpp"

#include <cstdio>

#include "actors/interfaces.hpp"

namespace sb {

caf::behavior janitor(caf::event_based_actor* self, storage::stream_store* store,
                      std::chrono::milliseconds every,
                      storage::stream_store::partition_filter serves) {
  self->delayed_send(self, every, tick_atom::value);
  return {
      [=](tick_atom) {
        using namespace std::chrono;
        const auto now_ms =
            duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
        try {
          store->purge_expired_idempotency(now_ms, serves);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "switchboard: idempotency purge failed: %s\n", e.what());
        }
        self->delayed_send(self, every, tick_atom::value);
      },
  };
}

}  // namespace sb
