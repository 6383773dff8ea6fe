// SwiftPM builds a C target only with a source file; the declaration in include/ is all there is.
#include "CLibFuzzer.h"
