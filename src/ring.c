/* ring.c — placeholder until the module lands. */
#include "ring.h"
