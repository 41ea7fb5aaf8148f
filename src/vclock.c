/* vclock.c placeholder */
#include "vclock.h"
