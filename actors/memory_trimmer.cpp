#include "actors/memory_trimmer.hpp"

#include <malloc.h>

#include "actors/interfaces.hpp"

namespace sb {

caf::behavior memory_trimmer(caf::event_based_actor* self, std::chrono::milliseconds every,
                             size_t slack) {
  self->delayed_send(self, every, tick_atom::value);
  return {
      [=](tick_atom) {
        if (mallinfo2().fordblks > slack) malloc_trim(0);
        self->delayed_send(self, every, tick_atom::value);
      },
  };
}

}  // namespace sb
