add_executable(rpc_bench ${CMAKE_CURRENT_LIST_DIR}/rpc_bench.c)
target_link_libraries(rpc_bench PRIVATE mp_echo_service)
target_compile_definitions(rpc_bench PRIVATE ECHO_SERVER="$<TARGET_FILE:mp_echo_server>")
