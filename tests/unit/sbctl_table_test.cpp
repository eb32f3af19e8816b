// sbctl's text table: alignment, padding of short rows, widths of UTF-8 text.
#include <gtest/gtest.h>

#include <stdexcept>

#include "tools/sbctl/table.hpp"

namespace sb::sbctl {
namespace {

TEST(SbctlTable, AlignsColumnsTwoSpacesApartWithoutTrailingSpaces) {
  table t({"ID", "ADDRESS", "STATE"});
  t.add_row({"n1", "127.0.0.1:8081", "up"});
  t.add_row({"node-long", "h:1", "draining"});
  EXPECT_EQ(t.render(),
            "ID         ADDRESS         STATE\n"
            "n1         127.0.0.1:8081  up\n"
            "node-long  h:1             draining\n");
}

TEST(SbctlTable, HeaderOnlyWhenEmpty) {
  table t({"KIND", "ID"});
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.render(), "KIND  ID\n");
}

TEST(SbctlTable, ShortRowsArePaddedLongRowsRefused) {
  table t({"A", "B", "C"});
  t.add_row({"x"});
  EXPECT_EQ(t.render(), "A  B  C\nx\n");
  EXPECT_THROW(t.add_row({"1", "2", "3", "4"}), std::invalid_argument);
}

TEST(SbctlTable, WidthsCountTerminalColumnsNotBytes) {
  table t({"CUSTOMER", "CONV"});
  t.add_row({"李雷", "c1"});      // 6 bytes, 2 wide characters: 4 columns
  t.add_row({"José", "c2"});      // 5 bytes, 4 columns
  t.add_row({"\xff\xfe", "c3"});  // invalid UTF-8: a column per byte
  EXPECT_EQ(t.render(),
            "CUSTOMER  CONV\n"
            "李雷      c1\n"
            "José      c2\n"
            "\xff\xfe        c3\n");
}

}  // namespace
}  // namespace sb::sbctl
