// Returns freed heap to the kernel after a burst: glibc keeps what 10,000 closed connections
// freed in its arenas (RSS stays at its peak) until malloc_trim. A detached actor checks every
// `every` and trims when more than `slack` bytes sit free in the heap, so an idle node returns
// to near its starting size within a minute without trimming on every tick.
#pragma once
#include <chrono>
#include <cstddef>

#include <caf/all.hpp>

namespace sb {

caf::behavior memory_trimmer(caf::event_based_actor* self, std::chrono::milliseconds every,
                             size_t slack);

}  // namespace sb
