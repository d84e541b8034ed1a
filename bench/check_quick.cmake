# ctest bench_quick: runs the quick suite with every output and peer, then a small network as a
# sequence, and checks what they wrote; then checks the network order the bench derives for
# MobileNetV2 (--list, no device).
#   cmake -DBENCH=<q8conv-bench> -DOUT_DIR=<dir> [-DDTYPE=s8|u8] -P check_quick.cmake
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

if(NOT DTYPE)
  set(DTYPE s8)
endif()
set(json ${OUT_DIR}/bench_quick_${DTYPE}.json)
set(svg ${OUT_DIR}/bench_quick_${DTYPE}.svg)
file(REMOVE ${json} ${svg})

# A small rotation: on lavapipe caches are the CPU's, and 20 sets of the quick shapes already
# exceed them; more would only slow CI down. Three chained batches: a median, at a third of the
# default's time.
execute_process(
  COMMAND ${BENCH} --suite quick --dtype ${DTYPE} --reps 20 --batches 3 --rotate-mb 8 --warmup-ms 20 --json ${json}
          --svg ${svg} --roofline --cpu
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
string(JSON dtype ERROR_VARIABLE err GET "${text}" dtype)
if(err OR NOT dtype STREQUAL DTYPE)
  message(FATAL_ERROR "${json}: dtype '${dtype}', asked for ${DTYPE} ${err}")
endif()

# A measured figure: a JSON number (the bench writes null for anything not finite) above 0.
# Timing relations (the floor below each layer's chained time, the network near the sum of its
# layers) are not checked: on lavapipe the "GPU" is the CPU's threads, on 2 cores shared with
# the rest of CI, and one descheduled thread during a batch of the floor can put it above the
# smallest layer's median. What the code guarantees, on any device, is that every figure was
# measured: present, finite, positive.
function(require_measured what json_text)
  string(REPLACE ";" "." path "${ARGN}")
  string(JSON type ERROR_VARIABLE err TYPE "${json_text}" ${ARGN})
  if(err)
    message(FATAL_ERROR "${what}: ${path}: ${err}")
  elseif(NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${what}: ${path} is ${type} (want a number)")
  endif()
  string(JSON value GET "${json_text}" ${ARGN})
  if(NOT value GREATER 0)
    message(FATAL_ERROR "${what}: ${path} = ${value} is not positive")
  endif()
endfunction()

# A result compared with the CPU reference and found identical: exact is true, not null (unchecked).
function(require_exact what json_text)
  string(JSON type TYPE "${json_text}" exact)
  string(JSON exact GET "${json_text}" exact)
  if(NOT type STREQUAL "BOOLEAN" OR NOT exact)
    message(FATAL_ERROR "${what}: exact is ${exact} (want true)")
  endif()
endfunction()

# The dispatch floor, measured on every run.
require_measured("floor" "${text}" floor us)
require_measured("floor" "${text}" floor nobarrier_us)

# The network: the quick suite's 6 layers (one shape twice), one entry per GPU variant, each
# measured and exact.
string(JSON net_layers ERROR_VARIABLE err GET "${text}" network layers)
if(err)
  message(FATAL_ERROR "network: ${err}")
elseif(NOT net_layers EQUAL 6)
  message(FATAL_ERROR "network layers: ${net_layers} (want the quick suite's 6)")
endif()
# The sum of the network's layers' own floors (each a copy of its layer's bytes, same run), and
# those copies as one network in runtime order.
require_measured("network" "${text}" network floor_layers_sum_us)
require_measured("network" "${text}" network floors_network_us)
string(JSON nnet LENGTH "${text}" network variants)
if(nnet LESS 2)
  message(FATAL_ERROR "only ${nnet} network variant(s) (want fallback and legacy at least)")
endif()
math(EXPR net_last "${nnet} - 1")
foreach(i RANGE ${net_last})
  string(JSON net GET "${text}" network variants ${i})
  string(JSON net_variant GET "${net}" variant)
  # network_us: cold (rotating sets); network_warm_us: runtime order (two ping-pong buffers).
  foreach(field network_us sum_chained_us floor_share over_layer_floors sets network_warm_us warm_over_layer_floors
                warm_over_floors_network)
    require_measured("network ${net_variant}" "${net}" ${field})
  endforeach()
  require_exact("network ${net_variant}" "${net}")
  string(JSON warm_exact GET "${net}" warm_exact)
  if(NOT warm_exact)
    message(FATAL_ERROR "network ${net_variant}: warm_exact is ${warm_exact} (want true)")
  endif()
endforeach()
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
    string(JSON chained_type TYPE "${row}" chained_us)
    if(NOT chained_type STREQUAL "NULL")
      message(FATAL_ERROR "${shape} / ${variant}: a CPU row with a chained time")
    endif()
    math(EXPR cpu_rows "${cpu_rows} + 1")
  else()
    require_positive("${row}" "${shape} / ${variant}" host_run_us)
    require_positive("${row}" "${shape} / ${variant}" host_run_poll_us)
    # The headline is the chained figure; the per-run figure and the floor stand beside it.
    # floor_layer_us: the shape's own floor (a copy of its bytes), and the row against it.
    foreach(field chained_us per_run_us floor_us floor_layer_us layer_floor_ratio)
      require_measured("${shape} / ${variant}" "${row}" ${field})
    endforeach()
    string(JSON over_type TYPE "${row}" over_layer_floor_us)
    if(NOT over_type STREQUAL "NUMBER")
      message(FATAL_ERROR "${shape} / ${variant}: over_layer_floor_us is ${over_type} (want a number)")
    endif()
    string(JSON gpu_us_headline GET "${row}" gpu_us)
    string(JSON chained_us GET "${row}" chained_us)
    if(NOT gpu_us_headline EQUAL chained_us)
      message(FATAL_ERROR "${shape} / ${variant}: gpu_us ${gpu_us_headline} is not the chained ${chained_us}")
    endif()
    require_exact("${shape} / ${variant}" "${row}")
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

# MobileNetV2's real layer order, which the bench derives from its shape list (grouped by shape,
# with counts) by chaining channels: block 1's projection, then per block an expansion and a
# projection (blocks 2-17), then the head.
execute_process(COMMAND ${BENCH} --suite mobilenet --list RESULT_VARIABLE rc OUTPUT_VARIABLE listing)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "q8conv-bench --list exited with ${rc}")
endif()
string(REGEX MATCHALL "\n +[0-9]+ [a-z0-9_]+" layers "${listing}")
list(TRANSFORM layers REPLACE "^\n +[0-9]+ " "")
set(want b1_project
         b2_expand b2_project   b3_expand b3_project   b3_expand b4_project
         b4_expand b5_project   b4_expand b5_project   b4_expand b6_project
         b6_expand b7_project   b6_expand b7_project   b6_expand b7_project   b6_expand b8_project
         b8_expand b9_project   b8_expand b9_project   b8_expand b10_project
         b10_expand b11_project b10_expand b11_project b10_expand b12_project
         head)
if(NOT layers STREQUAL want OR NOT listing MATCHES "network: 34 layers, chained by channels")
  message(FATAL_ERROR "network order of the mobilenet suite:\n${listing}\nwant: ${want}")
endif()

# The network as a sequence: a shapes file with counts, chained layers of odd sizes, both wait
# modes timed and the last layer exact; AUTO's network in runtime order beside it (its GPU time),
# its last layer exact too; the submission floor and the first layer alone as a sequence timed.
set(net_csv ${OUT_DIR}/bench_quick_network_${DTYPE}.csv)
set(net_json ${OUT_DIR}/bench_quick_network_${DTYPE}.json)
file(REMOVE ${net_json})
file(WRITE ${net_csv} "# name,N,H,W,IC,OC,count\nexpand,1,14,14,16,48,2\nproject,1,14,14,48,16,2\nodd,1,7,9,13,21,1\n")
execute_process(
  COMMAND ${BENCH} --shapes ${net_csv} --dtype ${DTYPE} --variants auto --reps 20 --rotate-mb 1 --warmup-ms 5
          --json ${net_json}
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
require_positive("${text}" "${net_json}" network_host_gpu_warm_us)
require_positive("${text}" "${net_json}" network_host_submit_floor_us)
require_positive("${text}" "${net_json}" network_host_submit_floor_poll_us)
require_positive("${text}" "${net_json}" network_host_one_layer_us)
require_positive("${text}" "${net_json}" network_host_one_layer_poll_us)
string(JSON poll_minus_type TYPE "${text}" network_host_poll_minus_gpu_us)
string(JSON beyond_type TYPE "${text}" network_host_poll_minus_gpu_minus_floor_us)
string(JSON warm_exact GET "${text}" network variants 0 warm_exact)
if(NOT poll_minus_type STREQUAL "NUMBER" OR NOT beyond_type STREQUAL "NUMBER" OR NOT warm_exact)
  message(FATAL_ERROR "${net_json}: network_host_poll_minus_gpu_us is ${poll_minus_type}, "
                      "network_host_poll_minus_gpu_minus_floor_us ${beyond_type}, warm_exact ${warm_exact}")
endif()
message(STATUS "bench_quick (${DTYPE}): ${gpu_rows} GPU rows exact (per run and chained), ${cpu_rows} CPU rows, "
               "floors (dispatch, per layer, as a network) and ${nnet} network variant(s) measured and exact (cold and warm), JSON and SVG written, MobileNetV2 order derived; "
               "host times per row and for a ${layers}-layer sequence, exact, beside the submission floor and its first layer alone")
