// Parses sbctl's command line (options.hpp).
#include "tools/sbctl/options.hpp"

#include <array>
#include <string_view>

namespace sb::sbctl {

const char* const usage =
    "usage: sbctl [--node URL] [--token T] [--json] <command>\n"
    "commands:\n"
    "  nodes                   the cluster's nodes (* marks the controller)\n"
    "  actors [--kind K]       live actors, optionally of one kind\n"
    "  inspect <kind>/<id>     one actor's state (e.g. inspect merchant/m1)\n"
    "  streams <stream>        the state of a stream's owner (e.g. streams orders:m1)\n"
    "  drain <node-id>         move every partition off a node\n"
    "  replicas                every partition's owner, epoch, copies and backups' lag\n"
    "kinds: merchant, conversation, pool, inbox, connection, channels\n"
    "--node defaults to http://127.0.0.1:8080; the token comes from --token, else $SBCTL_TOKEN,\n"
    "else (dev mode) from the node's POST /api/dev/token.\n";

bool known_kind(const std::string& kind) {
  static constexpr std::array<std::string_view, 6> kinds{"merchant", "conversation", "pool",
                                                         "inbox",    "connection",   "channels"};
  for (auto k : kinds)
    if (k == kind) return true;
  return false;
}

namespace {

parse_result fail(std::string error) {
  parse_result r;
  r.error = std::move(error);
  return r;
}

// Checks the positional arguments against the command's shape and fills `opts`.
std::string apply_command(const std::vector<std::string>& words, bool kind_given, options& opts) {
  if (words.empty()) return "missing command";
  const std::string& name = words[0];
  const size_t args = words.size() - 1;
  auto want_args = [&](size_t n, const char* shape) -> std::string {
    if (args == n) return {};
    return name + ": expected " + shape;
  };
  if (kind_given && name != "actors") return "--kind applies only to `actors`";
  if (name == "nodes") {
    opts.command = command::nodes;
    return want_args(0, "no arguments");
  }
  if (name == "replicas") {
    opts.command = command::replicas;
    return want_args(0, "no arguments");
  }
  if (name == "actors") {
    opts.command = command::actors;
    if (kind_given && !known_kind(opts.kind)) return "unknown kind '" + opts.kind + "'";
    return want_args(0, "no arguments besides --kind");
  }
  if (name == "inspect") {
    opts.command = command::inspect;
    if (auto e = want_args(1, "<kind>/<id>"); !e.empty()) return e;
    const auto slash = words[1].find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == words[1].size())
      return "inspect: expected <kind>/<id>, got '" + words[1] + "'";
    opts.kind = words[1].substr(0, slash);
    opts.target = words[1].substr(slash + 1);
    if (!known_kind(opts.kind)) return "unknown kind '" + opts.kind + "'";
    return {};
  }
  if (name == "streams" || name == "drain") {
    opts.command = name == "streams" ? command::streams : command::drain;
    if (auto e = want_args(1, name == "streams" ? "<stream>" : "<node-id>"); !e.empty()) return e;
    opts.target = words[1];
    if (opts.target.empty()) return name + ": empty argument";
    return {};
  }
  return "unknown command '" + name + "'";
}

}  // namespace

parse_result parse_options(const std::vector<std::string>& args, const char* env_token) {
  options opts;
  bool token_given = false, kind_given = false;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      parse_result r;
      r.help = true;
      return r;
    }
    if (!arg.starts_with("-") || arg == "-") {
      words.push_back(arg);
      continue;
    }
    const auto eq = arg.find('=');
    const std::string flag = arg.substr(0, eq);
    if (flag == "--json") {
      if (eq != std::string::npos) return fail("--json takes no value");
      opts.json = true;
      continue;
    }
    if (flag != "--node" && flag != "--token" && flag != "--kind")
      return fail("unknown option '" + flag + "'");
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return fail(flag + " needs a value");
    }
    if (value.empty()) return fail(flag + " needs a non-empty value");
    if (flag == "--node") {
      if (!value.starts_with("http://") && !value.starts_with("https://"))
        return fail("--node: expected an http:// or https:// URL, got '" + value + "'");
      const size_t host_at = value.find("://") + 3;
      while (value.size() > host_at && value.ends_with('/')) value.pop_back();
      if (value.size() == host_at || value[host_at] == '/')
        return fail("--node: no host in '" + value + "'");
      opts.node = value;
    } else if (flag == "--token") {
      opts.token = value;
      token_given = true;
    } else {
      opts.kind = value;
      kind_given = true;
    }
  }
  if (auto error = apply_command(words, kind_given, opts); !error.empty()) return fail(error);
  if (!token_given && env_token != nullptr) opts.token = env_token;
  parse_result r;
  r.options = std::move(opts);
  return r;
}

}  // namespace sb::sbctl
