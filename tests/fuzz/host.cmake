# Fuzz targets of the host meshes: the host platform's reading of applied objects
# (host_model.c, compiled in for coverage) and meshplane-sampleapp's request parser.
if(TARGET mp_adapter_core AND TARGET mp_sampleapp_http)
  mp_fuzz_target(host_model
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_host_model.c ${PROJECT_SOURCE_DIR}/adapters/sdk/host_model.c
    LIBS mp_adapter_core mp_yaml mp_base)
  target_include_directories(fuzz_host_model PRIVATE ${PROJECT_SOURCE_DIR}/adapters/sdk
                                                     ${PROJECT_SOURCE_DIR}/adapters/sdk/include)
  mp_fuzz_target(sampleapp_http
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_sampleapp_http.c
            ${PROJECT_SOURCE_DIR}/adapters/sampleapp/http.c
    LIBS mp_base Threads::Threads)
  target_include_directories(fuzz_sampleapp_http PRIVATE ${PROJECT_SOURCE_DIR}/adapters/sampleapp)
endif()
