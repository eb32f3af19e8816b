#include "cluster/successor.hpp"

#include <algorithm>

namespace sb::cluster {

successor_choice choose_successor(const std::vector<replica_ref>& replicas,
                                  const std::vector<sealed_copy>& sealed) {
  successor_choice out;
  const size_t copies = replicas.size();
  out.needed = copies - std::min<size_t>(2, copies) + 1;
  std::vector<std::string> seen;  // one vote per replica, whatever it answered twice
  for (const auto& s : sealed) {
    auto ref = std::find_if(replicas.begin(), replicas.end(),
                            [&](const replica_ref& r) { return r.node == s.node; });
    if (ref == replicas.end() || s.state.copying) continue;
    if (!ref->storage.empty() && ref->storage != s.storage) continue;
    if (std::find(seen.begin(), seen.end(), s.node) != seen.end()) continue;
    seen.push_back(s.node);
    ++out.counted;
    if (!out.copy || out.copy->state.behind(s.state)) out.copy = &s;
  }
  if (out.counted < out.needed) out.copy = nullptr;
  return out;
}

}  // namespace sb::cluster
