# lib/hdr decoder fuzzing. The library's sources are compiled into the target itself so
# that, with MESHPLANE_FUZZ=ON, libFuzzer instruments them for coverage (mp_fuzz_target
# instruments only the target's own sources, not the libraries it links).
pkg_check_modules(HDR_FUZZ_ZLIB REQUIRED IMPORTED_TARGET zlib)
set(mp_hdr_src ${PROJECT_SOURCE_DIR}/lib/hdr)
mp_fuzz_target(hdr_decode
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_hdr_decode.c ${mp_hdr_src}/hdr.c
                       ${mp_hdr_src}/hdr_codec.c
               LIBS mp_base PkgConfig::HDR_FUZZ_ZLIB m)
target_include_directories(fuzz_hdr_decode PRIVATE ${mp_hdr_src}/include)
