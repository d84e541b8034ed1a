# ctest bench_quick: runs the quick suite with every output and peer, then a small network as a
# sequence, and checks what they wrote.
#   cmake -DBENCH=<q8conv-bench> -DOUT_DIR=<dir> -P check_quick.cmake
# The bench itself exits 1 on any mismatch; this also catches a JSON or SVG that is unusable
# while the exit code is 0. CMake's string(JSON) parses the file, so no tool beyond cmake is needed.
cmake_minimum_required(VERSION 3.25)
if(NOT BENCH OR NOT OUT_DIR)
  message(FATAL_ERROR "usage: cmake -DBENCH=<q8conv-bench> -DOUT_DIR=<dir> -P check_quick.cmake")
endif()
# Fails unless the JSON text holds a positive number at the path given after `what`.
function(require_positive text what)
  string(JSON type TYPE "${text}" ${ARGN})
  string(JSON value GET "${text}" ${ARGN})
  if(NOT type STREQUAL "NUMBER" OR NOT value GREATER 0)
    message(FATAL_ERROR "${what}: ${ARGN} is ${value} (want a positive number)")
  endif()
endfunction()

set(json ${OUT_DIR}/bench_quick.json)
set(svg ${OUT_DIR}/bench_quick.svg)
file(REMOVE ${json} ${svg})

# A small rotation: on lavapipe caches are the CPU's, and 20 sets of the quick shapes already
# exceed them; more would only slow CI down.
execute_process(
  COMMAND ${BENCH} --suite quick --reps 20 --rotate-mb 8 --warmup-ms 20 --json ${json} --svg ${svg} --roofline --cpu
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "q8conv-bench exited with ${rc}")
endif()

if(NOT EXISTS ${json})
  message(FATAL_ERROR "${json} was not written")
endif()
file(READ ${json} text)
string(JSON nrows ERROR_VARIABLE err LENGTH "${text}" rows)
if(err)
  message(FATAL_ERROR "${json}: ${err}")
endif()
set(gpu_rows 0)
set(cpu_rows 0)
math(EXPR last "${nrows} - 1")
foreach(i RANGE ${last})
  string(JSON row GET "${text}" rows ${i})
  string(JSON shape GET "${row}" shape)
  string(JSON variant GET "${row}" variant)
  string(JSON is_cpu GET "${row}" cpu)
  require_positive("${row}" "${shape} / ${variant}" gpu_us)
  if(is_cpu)
    math(EXPR cpu_rows "${cpu_rows} + 1")
  else()
    require_positive("${row}" "${shape} / ${variant}" host_run_us)
    require_positive("${row}" "${shape} / ${variant}" host_run_poll_us)
    string(JSON exact_type TYPE "${row}" exact)
    string(JSON exact GET "${row}" exact)
    if(NOT exact_type STREQUAL "BOOLEAN" OR NOT exact)
      message(FATAL_ERROR "${shape} / ${variant}: exact is ${exact} (want true)")
    endif()
    math(EXPR gpu_rows "${gpu_rows} + 1")
  endif()
endforeach()
# Five shapes, at least the fallback and legacy kernels each (dot too where the device has it).
if(gpu_rows LESS 10)
  message(FATAL_ERROR "only ${gpu_rows} GPU rows in ${json}")
endif()
if(cpu_rows LESS 5)
  message(FATAL_ERROR "only ${cpu_rows} CPU rows in ${json} (--cpu asks for one per shape at least)")
endif()
string(JSON copy_gbps_type TYPE "${text}" roofline copy_gbps)
if(NOT copy_gbps_type STREQUAL "NUMBER")
  message(FATAL_ERROR "--roofline measured no copy bandwidth")
endif()

if(NOT EXISTS ${svg})
  message(FATAL_ERROR "${svg} was not written")
endif()
file(READ ${svg} head LIMIT 64)
if(NOT head MATCHES "^(<svg|<\\?xml)")
  message(FATAL_ERROR "${svg} does not start with <svg or <?xml")
endif()
file(READ ${svg} whole)
if(NOT whole MATCHES "</svg>[ \t\r\n]*$")
  message(FATAL_ERROR "${svg} is not closed")
endif()

# The network as a sequence: a shapes file with counts, chained layers of odd sizes, both wait
# modes timed and the last layer exact.
set(net_csv ${OUT_DIR}/bench_quick_network.csv)
set(net_json ${OUT_DIR}/bench_quick_network.json)
file(REMOVE ${net_json})
file(WRITE ${net_csv} "# name,N,H,W,IC,OC,count\nexpand,1,14,14,16,48,2\nproject,1,14,14,48,16,2\nodd,1,7,9,13,21,1\n")
execute_process(
  COMMAND ${BENCH} --shapes ${net_csv} --variants fallback --reps 20 --rotate-mb 1 --warmup-ms 5 --json ${net_json}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "q8conv-bench --shapes (network) exited with ${rc}")
endif()
file(READ ${net_json} text)
string(JSON layers GET "${text}" network_layers)
string(JSON net_exact GET "${text}" network_host_exact)
if(NOT layers EQUAL 5 OR NOT net_exact)
  message(FATAL_ERROR "${net_json}: network_layers ${layers} (want 5), network_host_exact ${net_exact}")
endif()
require_positive("${text}" "${net_json}" network_host_us)
require_positive("${text}" "${net_json}" network_host_poll_us)
message(STATUS "bench_quick: ${gpu_rows} GPU rows exact, ${cpu_rows} CPU rows, JSON and SVG written; "
               "host times per row and for a ${layers}-layer sequence, exact")
