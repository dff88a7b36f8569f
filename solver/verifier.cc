#include "solver/verifier.h"
