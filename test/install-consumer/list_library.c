/* Lists a kernel library's variants through the installed C API. */
#include <attnc/attnc.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  attnc_library *lib = attnc_library_open(argv[1]);
  if (!lib) {
    printf("error: %s\n", attnc_last_error());
    return 1;
  }
  for (int i = 0; i < attnc_library_num_variants(lib); ++i)
    printf("c: %s\n", attnc_library_variant_name(lib, i));
  attnc_library_close(lib);
  return 0;
}
