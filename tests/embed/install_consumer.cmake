# Installs the build tree into a fresh prefix and builds the consumer (consumer/) against that
# prefix three ways: find_package (shared and static targets), pkg-config (shared), and
# pkg-config with the archive (Libs.private must be enough). Each binary runs one convolution
# and checks it against the CPU reference.
#   cmake -DBUILD_DIR= -DWORK_DIR= -DCONSUMER_DIR= -DLIBDIR= -DCC= -DGENERATOR= -DPKG_CONFIG= -DVERSION=
#         [-DCONFIG=<multi-config build type>] [-DEXTRA_FLAGS=<compile+link flags, ;-list>] -P install_consumer.cmake
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

set(prefix ${WORK_DIR}/prefix)
# A sanitizer build of the library needs the same runtime in every program that links it.
list(JOIN EXTRA_FLAGS " " extra_flags_string)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

foreach(f include/q8conv.h ${LIBDIR}/libq8conv.so ${LIBDIR}/libq8conv.so.0.2 ${LIBDIR}/libq8conv.a
          ${LIBDIR}/cmake/q8conv/q8convConfig.cmake ${LIBDIR}/cmake/q8conv/q8convConfigVersion.cmake
          ${LIBDIR}/cmake/q8conv/q8convTargets.cmake ${LIBDIR}/pkgconfig/q8conv.pc bin/q8conv-info)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
# The installed tool finds the installed library through its RPATH.
run("installed q8conv-info" ${prefix}/bin/q8conv-info)

# ---- find_package ----
run("configure the find_package consumer"
    ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-build -G ${GENERATOR}
    -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix}
    "-DCMAKE_C_FLAGS=${extra_flags_string}" "-DCMAKE_EXE_LINKER_FLAGS=${extra_flags_string}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
run("build the find_package consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run("find_package consumer, q8conv::q8conv" ${WORK_DIR}/cmake-build/consumer_shared)
run("find_package consumer, q8conv::q8conv_static" ${WORK_DIR}/cmake-build/consumer_static)

# ---- pkg-config ----
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
run("pkg-config --modversion" ${PKG_CONFIG} --modversion q8conv)
string(STRIP "${run_output}" version)
if(NOT version STREQUAL "${VERSION}")
  message(FATAL_ERROR "q8conv.pc says version ${version}, the project is ${VERSION}")
endif()
run("pkg-config --variable=prefix" ${PKG_CONFIG} --variable=prefix q8conv)
string(STRIP "${run_output}" pc_prefix)
if(NOT pc_prefix STREQUAL prefix)
  message(FATAL_ERROR "q8conv.pc has prefix ${pc_prefix}, installed to ${prefix}")
endif()
run("pkg-config --cflags --libs" ${PKG_CONFIG} --cflags --libs q8conv)
separate_arguments(flags UNIX_COMMAND "${run_output}")
run("cc consumer.c $(pkg-config --cflags --libs q8conv)"
    ${CC} -std=c11 ${EXTRA_FLAGS} ${CONSUMER_DIR}/consumer.c ${flags} -o ${WORK_DIR}/consumer_pkgconfig)
run("pkg-config consumer, shared"
    ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR} ${WORK_DIR}/consumer_pkgconfig)

run("pkg-config --static --cflags --libs" ${PKG_CONFIG} --static --cflags --libs q8conv)
separate_arguments(flags UNIX_COMMAND "${run_output}")
list(TRANSFORM flags REPLACE "^-lq8conv$" "-l:libq8conv.a")
run("cc consumer.c $(pkg-config --static ...) with libq8conv.a"
    ${CC} -std=c11 ${EXTRA_FLAGS} ${CONSUMER_DIR}/consumer.c ${flags} -o ${WORK_DIR}/consumer_pkgconfig_static)
run("pkg-config consumer, static" ${WORK_DIR}/consumer_pkgconfig_static)
