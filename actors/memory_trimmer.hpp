// Returns freed heap to the kernel after a burst: the allocator keeps what 10,000 closed
// connections freed (RSS stays at its peak) until told otherwise. A detached actor checks every
// `every` and trims when more than `slack` bytes sit free in the heap, so an idle node returns
// to near its starting size within a minute without trimming on every tick. With jemalloc (the
// Release daemon) it purges jemalloc's dirty pages: its own decay runs only when something
// allocates, so an idle node would keep them. Otherwise (glibc, sanitizer builds) malloc_trim.
#pragma once
#include <chrono>
#include <cstddef>

#include <caf/all.hpp>

namespace sb {

caf::behavior memory_trimmer(caf::event_based_actor* self, std::chrono::milliseconds every,
                             size_t slack);

}  // namespace sb
