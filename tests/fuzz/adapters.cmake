# Fuzz targets of the adapter SDK: its YAML reading (object summaries of custom YAML and
# kubeconfigs, List flattening for the analyzer). yaml.c is compiled into the target (not
# linked from mp_adapter_core) so that libFuzzer's coverage instrumentation covers it.
pkg_check_modules(ADAPTER_FUZZ_YAML REQUIRED IMPORTED_TARGET yaml-0.1)
mp_fuzz_target(adapter_yaml
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_adapter_yaml.c ${PROJECT_SOURCE_DIR}/adapters/sdk/yaml.c
  LIBS mp_base PkgConfig::ADAPTER_FUZZ_YAML)
target_include_directories(fuzz_adapter_yaml PRIVATE ${PROJECT_SOURCE_DIR}/adapters/sdk
                                                     ${PROJECT_SOURCE_DIR}/adapters/sdk/include)
