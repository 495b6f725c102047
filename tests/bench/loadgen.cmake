# meshplane-loadgen vs wrk (shared/design/BENCHMARKS.md), on demand:
#   cmake --build build --target bench_loadgen_vs_wrk
# or directly: /usr/bin/python3 tests/bench/loadgen_vs_wrk.py --loadgen build/bin/meshplane-loadgen
if(TARGET meshplane-loadgen)
  add_custom_target(bench_loadgen_vs_wrk
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/loadgen_vs_wrk.py
            --loadgen $<TARGET_FILE:meshplane-loadgen>
    DEPENDS meshplane-loadgen
    USES_TERMINAL
    COMMENT "meshplane-loadgen vs wrk against a private nginx")
endif()
