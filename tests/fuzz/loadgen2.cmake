# Fuzz targets of meshplane-loadgen's HTTP/2 and gRPC support: the gRPC message reader, and
# what a server may send to the HTTP/2 and gRPC protocols (nghttp2 underneath), driven by
# h2_drive.c. The sources under test are compiled into the targets so that libFuzzer
# instruments them. Seeds: corpus/{grpc_frame,h2_response}/, written by make_h2_seeds.py.
if(NOT TARGET mp_loadgen)
  return()
endif()
pkg_check_modules(FUZZ_NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
set(mp_lg_src ${PROJECT_SOURCE_DIR}/loadgen)
mp_fuzz_target(grpc_frame
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_grpc_frame.c ${mp_lg_src}/grpc/frame.c
  LIBS mp_base)
target_include_directories(fuzz_grpc_frame PRIVATE ${mp_lg_src}/include)

mp_fuzz_target(h2_response
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_h2_response.c ${CMAKE_CURRENT_LIST_DIR}/h2_drive.c
          ${mp_lg_src}/engine/proto_h2.c ${mp_lg_src}/engine/proto_grpc.c
          ${mp_lg_src}/engine/url.c ${mp_lg_src}/grpc/frame.c ${mp_lg_src}/http1/request.c
  LIBS mp_base PkgConfig::FUZZ_NGHTTP2)
target_include_directories(fuzz_h2_response PRIVATE ${mp_lg_src}/include ${mp_lg_src}/engine
                           ${PROJECT_SOURCE_DIR}/lib/hdr/include)
