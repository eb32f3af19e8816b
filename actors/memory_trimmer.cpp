#include "actors/memory_trimmer.hpp"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdint>

#include "actors/interfaces.hpp"

namespace sb {
namespace {

// jemalloc's control interface, looked up at run time: present only when the daemon is linked
// with jemalloc (CMakeLists.txt), so no build depends on it.
using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);

mallctl_fn jemalloc_ctl() {
  static const auto ctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return ctl;
}

size_t jemalloc_stat(mallctl_fn ctl, const char* name) {
  size_t value = 0;
  size_t size = sizeof(value);
  return ctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}

// Bytes the allocator holds resident beyond what is allocated (freed, not yet returned).
size_t heap_free_bytes() {
  if (auto ctl = jemalloc_ctl()) {
    uint64_t epoch = 1;  // refreshes jemalloc's cached statistics
    size_t size = sizeof(epoch);
    ctl("epoch", &epoch, &size, &epoch, size);
    const size_t resident = jemalloc_stat(ctl, "stats.resident");
    const size_t allocated = jemalloc_stat(ctl, "stats.allocated");
    return resident > allocated ? resident - allocated : 0;
  }
  return mallinfo2().fordblks;
}

// Returns them to the kernel.
void trim_heap() {
  if (auto ctl = jemalloc_ctl()) {
    ctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // 4096: MALLCTL_ARENAS_ALL
    return;
  }
  malloc_trim(0);
}

}  // namespace

caf::behavior memory_trimmer(caf::event_based_actor* self, std::chrono::milliseconds every,
                             size_t slack) {
  self->delayed_send(self, every, tick_atom::value);
  return {
      [=](tick_atom) {
        if (heap_free_bytes() > slack) trim_heap();
        self->delayed_send(self, every, tick_atom::value);
      },
  };
}

}  // namespace sb
