// The web pages embedded in the binary at build time. Immutable; safe from any thread.
#pragma once
#include <optional>
#include <span>
#include <string_view>

namespace sb::web {

struct asset {
  std::string_view path;  // "/index.html"
  std::string_view body;
};

// Every embedded file (generated).
std::span<const asset> assets();

// The asset for a request path ("/" maps to "/index.html"), or nullopt.
std::optional<asset> find_asset(std::string_view path);

// The Content-Type for a path by its extension.
std::string_view content_type(std::string_view path);

}  // namespace sb::web
