add_executable(server_bench ${CMAKE_CURRENT_LIST_DIR}/server_bench.c)
target_link_libraries(server_bench PRIVATE mp_rpc mp_hdr mp_protos)
