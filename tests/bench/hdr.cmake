# lib/hdr micro-benchmark: build/tests/bench/hdr_bench [--quick]
add_executable(hdr_bench ${CMAKE_CURRENT_LIST_DIR}/hdr_bench.c)
target_link_libraries(hdr_bench PRIVATE mp_hdr m)
