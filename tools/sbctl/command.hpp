// Runs one parsed sbctl command against a node: finds the token, calls the admin API, prints the
// answer (human or --json) to `out` and failures to `err`. Returns the process's exit code.
#pragma once
#include <ostream>

#include "tools/sbctl/admin_client.hpp"
#include "tools/sbctl/options.hpp"

namespace sb::sbctl {

// Exit codes: 0 success; 1 the node answered an error or could not be reached; 2 usage errors,
// and no token to be had (no --token, no $SBCTL_TOKEN, and the node is not in dev mode).
enum exit_code : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

int run_command(const options& opts, admin_client& client, std::ostream& out, std::ostream& err);

}  // namespace sb::sbctl
