# Host meshes' cost (issue 6), on demand, not a ctest test:
#   cmake --build build --target host_bench && build/tests/bench/host_bench
# or: cmake --build build --target bench_host (builds and runs with the defaults).
if(TARGET mp_test_hosttest AND TARGET meshplane-loadgen)
  add_executable(host_bench ${CMAKE_CURRENT_LIST_DIR}/host_bench.c)
  target_link_libraries(host_bench PRIVATE mp_test_hosttest mp_adapter_nginx_lib
                                           mp_adapter_haproxy_lib)
  target_compile_definitions(host_bench PRIVATE MP_LOADGEN="$<TARGET_FILE:meshplane-loadgen>")
  add_dependencies(host_bench meshplane-sampleapp meshplane-loadgen)
  add_custom_target(bench_host
    COMMAND host_bench
    DEPENDS host_bench
    USES_TERMINAL
    COMMENT "the sample app directly, through the nginx and the HAProxy mesh, mTLS on and off")
endif()
