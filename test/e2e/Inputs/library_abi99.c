/* A kernel library in a format this runtime does not read (kernel-library.test). */
#include "runtime/library/LibraryAbi.h"
static const attnc_lib library = {99u, "9.9.9", 0, 0};
const attnc_lib *attnc_library_v1(void) { return &library; }
