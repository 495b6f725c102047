# adapters/analyzer fuzzing: YAML in, findings out. The library's sources (and lib/yaml's)
# are compiled into the target so that, with MESHPLANE_FUZZ=ON, libFuzzer instruments them.
pkg_check_modules(ANALYZER_FUZZ_YAML REQUIRED IMPORTED_TARGET yaml-0.1)
set(mp_analyzer_dir ${PROJECT_SOURCE_DIR}/adapters/analyzer)
include(${mp_analyzer_dir}/sources.cmake)
list(TRANSFORM MP_ANALYZER_SOURCES PREPEND ${mp_analyzer_dir}/ OUTPUT_VARIABLE mp_analyzer_fuzz_src)
mp_fuzz_target(analyzer
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_analyzer.c ${mp_analyzer_fuzz_src}
                       ${PROJECT_SOURCE_DIR}/lib/yaml/yaml.c
               LIBS mp_base PkgConfig::ANALYZER_FUZZ_YAML)
target_include_directories(fuzz_analyzer PRIVATE ${mp_analyzer_dir}/include ${mp_analyzer_dir}
                                                 ${PROJECT_SOURCE_DIR}/lib/yaml/include)
