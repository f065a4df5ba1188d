# The compiler as part of the installed package: `find_package(attnc)` then gives
# attnc::compiler, for programs that compile specs themselves (compiler/Compiler.h).
# It is the compiler's static libraries with the runtime's (attnc::AttnRuntime: link
# attnc::compiler or attnc::runtime, not both, or the program holds two registries),
# linking Debian's libMLIR.so and libLLVM.so, which attncConfig.cmake finds again.
# Headers go under include/attnc (compiler/, dialect/ and the generated .h.inc files),
# included as "compiler/Compiler.h" as inside the repository.
include(GNUInstallDirs)
set(ATTNC_COMPILER_ARCHIVES AttnCompiler AttnFrontend AttnExpr AttnCpuTarget AttnCudaTarget AttnSassProfile
    AttnEmuTarget AttnCodegen AttnPipeline AttnTransforms AttnDialect AttnRuntime)

add_library(attnc_compiler INTERFACE)
target_link_libraries(attnc_compiler INTERFACE AttnCompiler)
target_include_directories(attnc_compiler SYSTEM INTERFACE
  $<INSTALL_INTERFACE:${LLVM_INCLUDE_DIRS}> $<INSTALL_INTERFACE:${MLIR_INCLUDE_DIRS}>)
target_include_directories(attnc_compiler INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/attnc>)
target_compile_definitions(attnc_compiler INTERFACE ${LLVM_DEFINITIONS_LIST})
target_compile_features(attnc_compiler INTERFACE cxx_std_17)
set_target_properties(attnc_compiler PROPERTIES EXPORT_NAME compiler)

install(TARGETS attnc_compiler ${ATTNC_COMPILER_ARCHIVES} EXPORT attncCompilerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}/attnc)
install(EXPORT attncCompilerTargets NAMESPACE attnc::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/attnc)
foreach(dir compiler dialect)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attnc/${dir}
          FILES_MATCHING PATTERN "*.h")
  install(DIRECTORY ${PROJECT_BINARY_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attnc/${dir}
          FILES_MATCHING PATTERN "*.h.inc" PATTERN "CMakeFiles" EXCLUDE)
endforeach()
