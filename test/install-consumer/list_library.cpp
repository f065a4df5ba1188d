// Lists a kernel library's variants through the installed C++ runtime.
#include "runtime/library/KernelLibrary.h"

#include <cstdio>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  auto library = attnc::KernelLibrary::open(argv[1]);
  if (!library) {
    std::printf("error: %s\n", library.status().message().c_str());
    return 1;
  }
  for (const attnc::LibraryVariant &v : (*library)->variants())
    std::printf("c++: %s heads %lld\n", v.desc.name.c_str(), (long long)v.desc.headsQ);
  return 0;
}
