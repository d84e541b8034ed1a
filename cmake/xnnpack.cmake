# XNNPACK as a CPU peer, when Debian's libxnnpack-dev is there: q8conv-bench times and compares its
# QC8 and QU8 convolutions, and tests/test_xnnpack.c checks its QU8 operator against the reference.
# Its header includes <pthreadpool.h>, which Debian ships in libpthreadpool-dev without making
# libxnnpack-dev depend on it: without that header, bench/compat declares the two functions used,
# and the runtime library (libpthreadpool0, a dependency of libxnnpack0) is linked by its file name.
# Sets Q8CONV_WITH_XNNPACK, Q8CONV_XNNPACK_INCLUDES and Q8CONV_XNNPACK_LIBS for the directories
# added after it.
option(Q8CONV_BENCH_XNNPACK "Compare with XNNPACK's QC8/QU8 convolutions (bench, tests) when it is installed" ON)
set(Q8CONV_WITH_XNNPACK OFF)
if(Q8CONV_BENCH_XNNPACK)
  find_path(Q8CONV_XNNPACK_INCLUDE xnnpack.h)
  find_library(Q8CONV_XNNPACK_LIB NAMES XNNPACK xnnpack)
  find_library(Q8CONV_PTHREADPOOL_LIB NAMES pthreadpool libpthreadpool.so.0)
  find_path(Q8CONV_PTHREADPOOL_INCLUDE pthreadpool.h)
  if(Q8CONV_XNNPACK_INCLUDE AND Q8CONV_XNNPACK_LIB AND Q8CONV_PTHREADPOOL_LIB)
    set(Q8CONV_WITH_XNNPACK ON)
    set(Q8CONV_XNNPACK_INCLUDES ${Q8CONV_XNNPACK_INCLUDE})
    set(Q8CONV_XNNPACK_LIBS ${Q8CONV_XNNPACK_LIB} ${Q8CONV_PTHREADPOOL_LIB})
    if(Q8CONV_PTHREADPOOL_INCLUDE)
      message(STATUS "XNNPACK peer enabled (${Q8CONV_XNNPACK_LIB})")
    else()
      list(APPEND Q8CONV_XNNPACK_INCLUDES ${PROJECT_SOURCE_DIR}/bench/compat)
      message(STATUS "XNNPACK peer enabled (${Q8CONV_XNNPACK_LIB}; "
                     "pthreadpool.h missing, using bench/compat: apt-get install libpthreadpool-dev)")
    endif()
  else()
    message(STATUS "XNNPACK not found (apt-get install libxnnpack-dev): the bench's CPU peer rows are the "
                   "reference only, and the XNNPACK QU8 test is not built")
  endif()
endif()
