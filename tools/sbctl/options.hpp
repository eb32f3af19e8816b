// sbctl's command line: global options, the command and its arguments, parsed into `options`
// or a one-line usage error. Pure; no I/O.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sb::sbctl {

enum class command { nodes, actors, inspect, streams, drain, replicas };

struct options {
  std::string node = "http://127.0.0.1:8080";  // base URL, no trailing '/'
  std::string token;                           // empty: fetch one from the dev-mode endpoint
  bool json = false;
  sbctl::command command = command::nodes;
  std::string kind;    // actors --kind (optional), inspect <kind>/…
  std::string target;  // inspect's id, the stream of `streams`, the node id of `drain`
};

struct parse_result {
  std::optional<sbctl::options> options;  // set on success
  bool help = false;                      // -h / --help: print usage, exit 0
  std::string error;                      // a usage error, one line
};

// The usage text printed on --help and after a usage error.
extern const char* const usage;

// The actor kinds the nodes know: merchant, conversation, pool, inbox, connection (the
// contract's) and channels (a merchant's channel settings, docs/PROTOCOL.md).
bool known_kind(const std::string& kind);

// `args` excludes the program name. Global options may come before or after the command, as
// `--node URL` or `--node=URL`. `env_token` is $SBCTL_TOKEN (nullptr when unset): used when
// --token is not given.
parse_result parse_options(const std::vector<std::string>& args, const char* env_token);

}  // namespace sb::sbctl
