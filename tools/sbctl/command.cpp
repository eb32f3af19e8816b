// run_command (command.hpp).
#include "tools/sbctl/command.hpp"

#include <boost/json/serialize.hpp>

#include "tools/sbctl/human_view.hpp"

namespace sb::sbctl {

namespace json = boost::json;

namespace {

int report(std::ostream& err, const admin_result& result) {
  err << "sbctl: " << printable(result.error);
  if (result.status != 0) err << " (HTTP " << result.status << ")";
  err << '\n';
  return exit_failed;
}

// --token, then $SBCTL_TOKEN (both already in opts), else a dev-mode token from the node.
int authenticate(const options& opts, admin_client& client, std::ostream& err) {
  if (!opts.token.empty()) {
    client.set_token(opts.token);
    return exit_ok;
  }
  auto minted = client.dev_token();
  if (minted.status == 404) {
    err << "sbctl: no token: pass --token or set SBCTL_TOKEN\n";
    return exit_usage;
  }
  if (!minted.ok) return report(err, minted);
  const auto* object = minted.body.if_object();
  const auto* token = object ? object->if_contains("token") : nullptr;
  if (token == nullptr || !token->is_string() || token->get_string().empty()) {
    err << "sbctl: POST /api/dev/token answered without a token\n";
    return exit_failed;
  }
  client.set_token(std::string(token->get_string()));
  return exit_ok;
}

admin_result call(const options& opts, admin_client& client) {
  switch (opts.command) {
    case command::nodes:
      return client.nodes();
    case command::actors:
      return client.actors(opts.kind);
    case command::inspect:
      return client.actor(opts.kind, opts.target);
    case command::streams:
      return client.stream(opts.target);
    case command::drain:
      return client.drain(opts.target);
    case command::replicas:
      return client.replication();
  }
  return {};
}

std::string render(const options& opts, const json::value& answer) {
  switch (opts.command) {
    case command::nodes:
      return render_nodes(answer);
    case command::actors:
      return render_actors(answer);
    case command::inspect:
    case command::streams:
      return render_actor(answer);
    case command::drain:
      return render_drain(answer, opts.target);
    case command::replicas:
      return render_replication(answer);
  }
  return {};
}

}  // namespace

int run_command(const options& opts, admin_client& client, std::ostream& out, std::ostream& err) {
  if (int code = authenticate(opts, client, err); code != exit_ok) return code;
  const auto result = call(opts, client);
  if (!result.ok) return report(err, result);
  out << (opts.json ? json::serialize(result.body) + '\n' : render(opts, result.body));
  out.flush();
  return out ? exit_ok : exit_failed;
}

}  // namespace sb::sbctl
