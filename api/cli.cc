#include "api/cli.h"

#include <ostream>

namespace topoplace {

int RunCli(int, char**, std::ostream& out, std::ostream&) {
  out << "topoplace\n";
  return 0;
}

}  // namespace topoplace
