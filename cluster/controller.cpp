#include "cluster/controller.hpp"

#include <cstdio>

#include "cluster/etcd_keys.hpp"
#include "cluster/rendezvous.hpp"

namespace sb::cluster {

namespace {

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: controller: %s\n", line.c_str());
}

}  // namespace

controller::controller(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
                       std::function<int64_t()> lease)
    : etcd_(etcd), view_(std::move(view)), opts_(std::move(opts)), lease_(std::move(lease)) {}

controller::~controller() {
  stop();
}

void controller::start() {
  thread_ = std::thread([this] { loop(); });
}

void controller::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void controller::loop() {
  while (!stopping_) {
    if (view_->controller().empty()) campaign();
    if (view_->controller() == view_->self()) reconcile();
    std::this_thread::sleep_for(opts_.period);
  }
}

void controller::campaign() {
  std::string error;
  const auto key = etcd_keys::controller_key(opts_.prefix);
  auto won = etcd_.txn({{key, etcd_compare::target::create, 0, ""}},
                       {{etcd_op::kind::put, key, view_->self(), lease_(), false}}, {}, error);
  if (won && won->succeeded) {
    view_->set_controller(view_->self());  // the watch confirms it a moment later
    log(view_->self() + " is the controller");
  }
}

void controller::reconcile() {
  std::vector<std::string> eligible;
  for (const auto& [id, m] : view_->members())
    if (!view_->draining(id)) eligible.push_back(id);
  if (eligible.empty()) return;
  const auto members = view_->members();
  const auto parts = view_->partitions();
  size_t moving = 0;
  for (const auto& r : parts)
    if (r && r->state == "moving") ++moving;
  std::string error;
  for (uint16_t p = 0; p < partition_count && !stopping_; ++p) {
    const auto target = rendezvous_owner(eligible, p);
    const auto key = etcd_keys::partition_key(opts_.prefix, p);
    const auto& r = parts[p];
    if (!r) {
      // First assignment: epoch 1, nothing stored anywhere yet. Created only if still absent.
      partition_record fresh{target, 1, "serving", "", 0};
      etcd_.txn({{key, etcd_compare::target::create, 0, ""}},
                {{etcd_op::kind::put, key, etcd_keys::partition_json(fresh), 0, false}}, {}, error);
      continue;
    }
    // Only a live owner can hand a partition over; a dead owner's partitions wait for it.
    if (r->state != "serving" || r->owner == target || !members.contains(r->owner)) continue;
    if (moving >= opts_.moves_in_flight) continue;
    partition_record move = *r;
    move.state = "moving";
    move.to = target;
    auto done = etcd_.txn({{key, etcd_compare::target::mod, r->mod_revision, ""}},
                          {{etcd_op::kind::put, key, etcd_keys::partition_json(move), 0, false}},
                          {}, error);
    if (done && done->succeeded) ++moving;
  }
}

}  // namespace sb::cluster
