// How many messages wait in an actor's mailbox, for inspection (sbctl, /admin/actors). Counts
// what the actor has already taken into its queues, not messages that arrived since its
// current handler began: CAF 0.17's mailbox().size() first drains the inbox's LIFO stack
// into the categorized queues, whose inline code downcasts the queues' sentinel node —
// undefined behaviour that UBSan aborts on (tests/cluster/failover.test.mjs hit it).
#pragma once
#include <cstddef>

namespace sb {

template <class Actor>
size_t mailbox_backlog(Actor* self) {
  return static_cast<size_t>(self->mailbox().queue().total_task_size());
}

}  // namespace sb
