// sbctl: the operator's command line for a Switchboard cluster (docs/operations.md). Parses the
// command line and runs one command against one node's admin API.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/sbctl/admin_client.hpp"
#include "tools/sbctl/command.hpp"
#include "tools/sbctl/options.hpp"

int main(int argc, char** argv) {
  using namespace sb::sbctl;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = parse_options(args, std::getenv("SBCTL_TOKEN"));
  if (parsed.help) {
    std::cout << usage;
    return exit_ok;
  }
  if (!parsed.options) {
    std::cerr << "sbctl: " << parsed.error << '\n' << usage;
    return exit_usage;
  }
  admin_client client(parsed.options->node);
  return run_command(*parsed.options, client, std::cout, std::cerr);
}
