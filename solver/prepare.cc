#include "solver/backend.h"
