# For the projects that take libq8conv in as a subproject (subproject/, fetchcontent/): what a
# good guest may leave in its parent, checked at configure time, and the consumer programs.
#
#   q8conv_guest_snapshot()   just before add_subdirectory / FetchContent_MakeAvailable
#   q8conv_guest_check()      just after: fails the configure on anything below
#
# - a new cache variable outside Q8CONV_*, q8conv_* (project()'s own) and what standard modules
#   cache for themselves (FindThreads' check, FetchContent's per-dependency entries);
# - a changed value of any cache variable or normal variable the parent had;
# - a changed directory property of the parent (compile options, definitions, include and link
#   directories, link options);
# - a missing q8conv::q8conv or q8conv::q8conv_static, or any test, bench, tool or example
#   target (off by default in a subproject).
set(q8conv_guest_dir_properties COMPILE_OPTIONS COMPILE_DEFINITIONS INCLUDE_DIRECTORIES LINK_OPTIONS
                                LINK_DIRECTORIES)

# Locals are q8conv_guest_* so that they never shadow a variable of the parent's being compared.
function(q8conv_guest_snapshot)
  get_cmake_property(q8conv_guest_vars VARIABLES)
  list(FILTER q8conv_guest_vars EXCLUDE REGEX "^(ARG|CMAKE_CURRENT_|CMAKE_MATCH_|q8conv_guest_)")
  set_property(GLOBAL PROPERTY q8conv_guest_vars "${q8conv_guest_vars}")
  foreach(q8conv_guest_v IN LISTS q8conv_guest_vars)
    set_property(GLOBAL PROPERTY "q8conv_guest_var_${q8conv_guest_v}" "${${q8conv_guest_v}}")
  endforeach()
  get_cmake_property(q8conv_guest_cache CACHE_VARIABLES)
  set_property(GLOBAL PROPERTY q8conv_guest_cache "${q8conv_guest_cache}")
  foreach(q8conv_guest_v IN LISTS q8conv_guest_cache)
    set_property(GLOBAL PROPERTY "q8conv_guest_cache_${q8conv_guest_v}" "$CACHE{${q8conv_guest_v}}")
  endforeach()
  foreach(q8conv_guest_p IN LISTS q8conv_guest_dir_properties)
    get_directory_property(q8conv_guest_value ${q8conv_guest_p})
    set_property(GLOBAL PROPERTY "q8conv_guest_dir_${q8conv_guest_p}" "${q8conv_guest_value}")
  endforeach()
endfunction()

function(q8conv_guest_check)
  set(q8conv_guest_problems "")
  get_property(q8conv_guest_vars GLOBAL PROPERTY q8conv_guest_vars)
  foreach(q8conv_guest_v IN LISTS q8conv_guest_vars)
    get_property(q8conv_guest_before GLOBAL PROPERTY "q8conv_guest_var_${q8conv_guest_v}")
    if(NOT "${${q8conv_guest_v}}" STREQUAL "${q8conv_guest_before}")
      list(APPEND q8conv_guest_problems
           "variable ${q8conv_guest_v} changed: '${q8conv_guest_before}' -> '${${q8conv_guest_v}}'")
    endif()
  endforeach()
  get_property(q8conv_guest_cache_before GLOBAL PROPERTY q8conv_guest_cache)
  get_cmake_property(q8conv_guest_cache CACHE_VARIABLES)
  foreach(q8conv_guest_v IN LISTS q8conv_guest_cache)
    if(q8conv_guest_v IN_LIST q8conv_guest_cache_before)
      get_property(q8conv_guest_before GLOBAL PROPERTY "q8conv_guest_cache_${q8conv_guest_v}")
      if(NOT "$CACHE{${q8conv_guest_v}}" STREQUAL "${q8conv_guest_before}")
        list(APPEND q8conv_guest_problems
             "cache variable ${q8conv_guest_v} changed: '${q8conv_guest_before}' -> '$CACHE{${q8conv_guest_v}}'")
      endif()
    elseif(NOT q8conv_guest_v MATCHES "^(Q8CONV_|q8conv_|FETCHCONTENT_(SOURCE_DIR|UPDATES_DISCONNECTED)_Q8CONV$)"
           AND NOT q8conv_guest_v MATCHES "^(CMAKE_HAVE_LIBC_PTHREAD|FIND_PACKAGE_MESSAGE_DETAILS_Threads)$")
      list(APPEND q8conv_guest_problems "new cache variable ${q8conv_guest_v}='$CACHE{${q8conv_guest_v}}'")
    endif()
  endforeach()
  foreach(q8conv_guest_p IN LISTS q8conv_guest_dir_properties)
    get_directory_property(q8conv_guest_value ${q8conv_guest_p})
    get_property(q8conv_guest_before GLOBAL PROPERTY "q8conv_guest_dir_${q8conv_guest_p}")
    if(NOT "${q8conv_guest_value}" STREQUAL "${q8conv_guest_before}")
      list(APPEND q8conv_guest_problems
           "directory property ${q8conv_guest_p} changed: '${q8conv_guest_before}' -> '${q8conv_guest_value}'")
    endif()
  endforeach()
  foreach(q8conv_guest_t q8conv::q8conv q8conv::q8conv_static)
    if(NOT TARGET ${q8conv_guest_t})
      list(APPEND q8conv_guest_problems "no target ${q8conv_guest_t}")
    endif()
  endforeach()
  foreach(q8conv_guest_t q8conv_internal q8conv-test-gpu q8conv-test-embed q8conv-test-threads q8conv-bench
                         q8conv-info pointwise_chain_shared q8conv-fuzz-pw)
    if(TARGET ${q8conv_guest_t})
      list(APPEND q8conv_guest_problems
           "target ${q8conv_guest_t} exists (tests, bench, tools and examples are off in a subproject)")
    endif()
  endforeach()
  if(q8conv_guest_problems)
    list(JOIN q8conv_guest_problems "\n  " q8conv_guest_shown)
    message(FATAL_ERROR "libq8conv is not a good guest:\n  ${q8conv_guest_shown}")
  endif()
  message(STATUS "libq8conv left the parent's cache, variables and directory properties alone")
endfunction()

# consumer_shared and consumer_static (consumer/consumer.c) against the two library targets, with
# ARGN added to both (the host's volk, its definition); q8conv-files.cmake tells the test driver
# where the libraries were built.
function(q8conv_guest_programs)
  foreach(kind shared static)
    add_executable(consumer_${kind} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/consumer/consumer.c)
  endforeach()
  target_link_libraries(consumer_shared PRIVATE q8conv::q8conv ${ARGN})
  target_link_libraries(consumer_static PRIVATE q8conv::q8conv_static ${ARGN})
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/q8conv-files.cmake CONTENT
"set(Q8CONV_SHARED $<TARGET_FILE:q8conv>)
set(Q8CONV_STATIC $<TARGET_FILE:q8conv_static>)
set(Q8CONV_BINARY_DIR ${q8conv_BINARY_DIR})
")
endfunction()
