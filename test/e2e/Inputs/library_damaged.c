/* A kernel library whose only entry has no heads (kernel-library.test). */
#include "runtime/library/LibraryAbi.h"
static const attnc_lib_variant variants[] = {{"broken", 0, 1, 64, 64, ATTNC_F32, 0.125}};
static const attnc_lib library = {ATTNC_LIBRARY_ABI_VERSION, "0.1.0", 1, variants};
const attnc_lib *attnc_library_v1(void) { return &library; }
