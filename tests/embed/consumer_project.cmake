# Configures, builds and runs a project that takes libq8conv in as a subproject, with the
# compiler of the enclosing build:
#   MODE=subproject    subproject/: add_subdirectory
#   MODE=fetchcontent  fetchcontent/: FetchContent_Declare(SOURCE_DIR) next to the project's own
#                      volk, a copy of VOLK_DIR/volk.{c,h} made here with a marker symbol appended
# Its configure checks that libq8conv left the parent alone (guest.cmake); then the consumer
# programs, shared and static, each run a convolution checked against the CPU reference; the
# project must have no install rules and no tests of libq8conv's; both libraries must define no
# global symbol outside q8conv_* (check_symbols.cmake); with MODE=fetchcontent, the marker must be
# in both libraries as a local symbol: they were built from the project's volk.c, privately.
#   cmake -DMODE= -DSOURCE_DIR=<libq8conv> -DWORK_DIR= -DCC= -DGENERATOR= -DNM= [-DVOLK_DIR=]
#         [-DEXTRA_FLAGS=<compile+link flags, ;-list>] -P consumer_project.cmake
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(args "")
set(marker volk_copy_of_the_fetchcontent_consumer)
if(MODE STREQUAL "fetchcontent")
  file(COPY ${VOLK_DIR}/volk.c ${VOLK_DIR}/volk.h DESTINATION ${WORK_DIR}/volk)
  file(APPEND ${WORK_DIR}/volk/volk.c "\n/* Appended by tests/embed/consumer_project.cmake. */\nint ${marker} = 1;\n")
  list(APPEND args -DVOLK_SOURCE_DIR=${WORK_DIR}/volk)
elseif(NOT MODE STREQUAL "subproject")
  message(FATAL_ERROR "MODE must be subproject or fetchcontent")
endif()
list(JOIN EXTRA_FLAGS " " flags)
set(build ${WORK_DIR}/build)
run("configure the ${MODE} consumer"
    ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/${MODE} -B ${build} -G ${GENERATOR}
    -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release -DQ8CONV_SOURCE_DIR=${SOURCE_DIR}
    "-DCMAKE_C_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}" "-DCMAKE_SHARED_LINKER_FLAGS=${flags}" ${args})
include(${build}/q8conv-files.cmake)

file(READ ${Q8CONV_BINARY_DIR}/cmake_install.cmake install_script)
if(install_script MATCHES "file\\(INSTALL")
  message(FATAL_ERROR "libq8conv added install rules to its parent (${Q8CONV_BINARY_DIR}/cmake_install.cmake)")
endif()
file(GLOB_RECURSE test_files ${Q8CONV_BINARY_DIR}/CTestTestfile.cmake)
foreach(f IN LISTS test_files)
  file(READ ${f} text)
  if(text MATCHES "add_test\\(")
    message(FATAL_ERROR "libq8conv registered tests in its parent (${f})")
  endif()
endforeach()

run("build the ${MODE} consumer" ${CMAKE_COMMAND} --build ${build} --parallel 2)
foreach(kind shared static)
  run("${MODE} consumer, ${kind}" ${build}/consumer_${kind})
  message(STATUS "${run_output}")
endforeach()

run("only q8conv_* exported by the shared library"
    ${CMAKE_COMMAND} -DNM=${NM} -DLIB=${Q8CONV_SHARED} -DKIND=shared -P ${CMAKE_CURRENT_LIST_DIR}/check_symbols.cmake)
run("only q8conv_* global in the static library"
    ${CMAKE_COMMAND} -DNM=${NM} -DLIB=${Q8CONV_STATIC} -DKIND=static -P ${CMAKE_CURRENT_LIST_DIR}/check_symbols.cmake)
if(MODE STREQUAL "fetchcontent")
  foreach(lib ${Q8CONV_SHARED} ${Q8CONV_STATIC})
    run("nm ${lib}" ${NM} ${lib})
    if(NOT run_output MATCHES "\n[0-9a-f]+ [a-z] ${marker}\n")
      message(FATAL_ERROR "${lib} has no local ${marker}: not built from the project's own volk.c")
    endif()
  endforeach()
  message(STATUS "both libraries hold the project's volk.c, with its symbols local")
endif()
