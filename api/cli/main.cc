#include <iostream>

#include "api/cli/cli.h"

int main(int argc, char** argv) { return topoplace::RunCli(argc, argv, std::cout, std::cerr); }
