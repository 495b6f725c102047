# Fuzz targets of meshplane-loadgen: the HTTP/1.1 response parser. The parser's source is
# compiled into the target (not linked from mp_http1) so that libFuzzer's coverage
# instrumentation covers it.
mp_fuzz_target(http1_response
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_http1_response.c
          ${PROJECT_SOURCE_DIR}/loadgen/http1/response.c
  LIBS mp_base)
target_include_directories(fuzz_http1_response PRIVATE ${PROJECT_SOURCE_DIR}/loadgen/include)
