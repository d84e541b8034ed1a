# Fails unless every global symbol that a library defines is q8conv_*: volk's vk* function
# pointers and the library's internal helpers must stay inside, so a host linking the Vulkan
# loader (or its own volk) and libq8conv never sees two definitions of one name.
#   cmake -DNM=<nm> -DLIB=<library> -DKIND=shared|static -P check_symbols.cmake
if(KIND STREQUAL "shared")
  set(args -D --defined-only)   # the dynamic symbol table: what the .so exports
else()
  set(args -g --defined-only)   # global symbols of every member of the archive
endif()
execute_process(COMMAND ${NM} ${args} ${LIB} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${args} ${LIB} failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(public 0)
set(foreign "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ ]+)$")
    if(CMAKE_MATCH_1 MATCHES "^q8conv_")
      math(EXPR public "${public} + 1")
    else()
      list(APPEND foreign "${CMAKE_MATCH_1}")
    endif()
  endif()
endforeach()
if(foreign)
  list(LENGTH foreign n)
  list(JOIN foreign "\n  " shown)
  message(FATAL_ERROR "${LIB}: ${n} global symbol(s) outside q8conv_*:\n  ${shown}")
endif()
# The whole API must be there, not just nothing else.
foreach(name q8conv_context_create q8conv_pw_record q8conv_tensor_wrap q8conv_context_get_pipeline_cache
             q8conv_device_requirements q8conv_tensor_size_bytes)
  if(NOT out MATCHES " ${name}\n")
    message(FATAL_ERROR "${LIB}: ${name} is not exported")
  endif()
endforeach()
message(STATUS "${LIB}: ${public} global symbols, all q8conv_*")
