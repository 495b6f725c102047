# The analyzer library's sources, shared by CMakeLists.txt here and by the fuzz target
# (tests/fuzz/analyzer.cmake compiles them into the fuzzer so libFuzzer instruments them).
set(MP_ANALYZER_SOURCES
    analyzer.c
    model.c
    report.c
    rules_table.c
    rules_istio_routing.c
    rules_istio_gateway.c
    rules_istio_workload.c
    rules_mtls.c
    rules_linkerd.c
    rules_smi.c
    rules_k8s.c)
