#include "web/assets.hpp"

namespace sb::web {

std::optional<asset> find_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const auto& a : assets())
    if (a.path == path) return a;
  return std::nullopt;
}

std::string_view content_type(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".wav")) return "audio/wav";
  return "application/octet-stream";
}

}  // namespace sb::web
