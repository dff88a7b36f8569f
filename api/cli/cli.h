// The topoplace command line: validate, show, place (and later whatif, capacity, serve...).
//
// RunCli() parses argv, runs one command and returns the process exit code from the one table in
// exit_codes.h: 0 ok, 1 internal error, 2 bad input, 3 infeasible/unsatisfied, 4 unavailable,
// 5 undecided.
#pragma once

#include <iosfwd>

namespace topoplace {

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace topoplace
