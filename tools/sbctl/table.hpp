// A text table with left-aligned columns two spaces apart, widths in terminal columns (UTF-8,
// East Asian wide characters count two).
// Plain value type; no I/O.
#pragma once
#include <string>
#include <vector>

namespace sb::sbctl {

class table {
 public:
  explicit table(std::vector<std::string> headers);

  // A row shorter than the headers is padded with empty cells; a longer one is an error.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  // The header line and one line per row, each ending in '\n', without trailing spaces.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sb::sbctl
