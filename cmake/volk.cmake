# Which volk libq8conv compiles into its own objects. Sets Q8CONV_VOLK_C (the volk.c to compile)
# and Q8CONV_VOLK_INCLUDE (where its volk.h and Vulkan headers are), from the first of:
#   1. the parent project's `volk` target (or `volk::volk`, e.g. from find_package(volk));
#   2. Q8CONV_VOLK_DIR, a volk source tree with volk.c and volk.h at its top;
#   3. Debian's libvulkan-volk-dev (/usr/include/volk.c).
#
# Why the parent's volk.c is compiled here rather than its `volk` target linked: volk keeps
# process-wide globals (vkGetDeviceProcAddr and every vk* function pointer), and
# load_device_table (src/vk/device.c) points vkGetDeviceProcAddr at a context's loader while
# volkLoadDeviceTable reads it, then sets it back to NULL. Against the parent's volk library that
# would write the parent's globals: a host thread calling vkGetDeviceProcAddr meanwhile, or ever
# after, would get our loader's or NULL. Compiled into q8conv_objects, the parent's volk.c gives
# libq8conv a private copy of those globals, hidden in the shared library (cmake/q8conv.map) and
# made local in the static one (objcopy --localize-hidden), so the parent's volk and ours share
# no symbol in one process. It is still the parent's volk: its source, its volk.h, and the Vulkan
# headers its target carries. Its compile definitions are not taken: platform defines
# (VK_USE_PLATFORM_*) pull in window-system headers libq8conv has no use for, and VOLK_NAMESPACE
# is for C++.
set(Q8CONV_VOLK_DIR "" CACHE PATH
    "volk source tree (volk.c, volk.h) to compile into libq8conv when the parent project has no volk target")

set(q8conv_volk_target "")
foreach(name volk volk::volk)
  if(TARGET ${name})
    set(q8conv_volk_target ${name})
    break()
  endif()
endforeach()

if(q8conv_volk_target)
  get_target_property(q8conv_volk_real ${q8conv_volk_target} ALIASED_TARGET)
  if(NOT q8conv_volk_real)
    set(q8conv_volk_real ${q8conv_volk_target})
  endif()
  set(Q8CONV_VOLK_C "")
  get_target_property(q8conv_volk_imported ${q8conv_volk_real} IMPORTED)
  if(q8conv_volk_imported)
    # An installed volk ships volk.c next to volk.h, in its include directory.
    get_target_property(q8conv_volk_dirs ${q8conv_volk_real} INTERFACE_INCLUDE_DIRECTORIES)
    foreach(dir IN LISTS q8conv_volk_dirs)
      if(NOT Q8CONV_VOLK_C AND EXISTS ${dir}/volk.c)
        set(Q8CONV_VOLK_C ${dir}/volk.c)
      endif()
    endforeach()
  else()
    get_target_property(q8conv_volk_sources ${q8conv_volk_real} SOURCES)
    get_target_property(q8conv_volk_source_dir ${q8conv_volk_real} SOURCE_DIR)
    foreach(src IN LISTS q8conv_volk_sources)
      if(src MATCHES "(^|/)volk\\.c$")
        get_filename_component(Q8CONV_VOLK_C ${src} ABSOLUTE BASE_DIR ${q8conv_volk_source_dir})
      endif()
    endforeach()
  endif()
  if(NOT Q8CONV_VOLK_C)
    message(FATAL_ERROR "q8conv: the parent's target ${q8conv_volk_target} has no volk.c among its sources or "
                        "include directories; set Q8CONV_VOLK_DIR to a volk source tree instead")
  endif()
  if(Q8CONV_VOLK_DIR)
    message(WARNING "q8conv: Q8CONV_VOLK_DIR is ignored: the parent's target ${q8conv_volk_target} comes first")
  endif()
  get_filename_component(q8conv_volk_dir ${Q8CONV_VOLK_C} DIRECTORY)
  set(Q8CONV_VOLK_INCLUDE ${q8conv_volk_dir} $<TARGET_PROPERTY:${q8conv_volk_real},INTERFACE_INCLUDE_DIRECTORIES>)
  message(STATUS "q8conv: volk of the parent's target ${q8conv_volk_target}, compiled privately: ${Q8CONV_VOLK_C}")
elseif(Q8CONV_VOLK_DIR)
  if(NOT EXISTS ${Q8CONV_VOLK_DIR}/volk.c OR NOT EXISTS ${Q8CONV_VOLK_DIR}/volk.h)
    message(FATAL_ERROR "q8conv: Q8CONV_VOLK_DIR=${Q8CONV_VOLK_DIR} has no volk.c and volk.h")
  endif()
  set(Q8CONV_VOLK_C ${Q8CONV_VOLK_DIR}/volk.c)
  set(Q8CONV_VOLK_INCLUDE ${Q8CONV_VOLK_DIR})
  message(STATUS "q8conv: volk from Q8CONV_VOLK_DIR: ${Q8CONV_VOLK_C}")
else()
  find_file(Q8CONV_VOLK_C volk.c PATHS /usr/include /usr/local/include)
  find_path(Q8CONV_VOLK_INCLUDE volk.h PATHS /usr/include /usr/local/include)
  if(NOT Q8CONV_VOLK_C OR NOT Q8CONV_VOLK_INCLUDE)
    message(FATAL_ERROR "volk.c/volk.h not found: apt-get install libvulkan-volk-dev, "
                        "or set Q8CONV_VOLK_DIR to a volk source tree")
  endif()
endif()
