# Cross-compiling for arm64 Linux with Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# Programs (glslangValidator, spirv-val) come from the build host; headers and libraries from the
# arm64 sysroot only, with one exception: the Vulkan headers and volk.c/volk.h are
# architecture-independent and Debian installs them only in the build host's /usr/include, so
# copies of exactly those (nothing else of /usr/include) are staged in <build>/host-sysroot,
# searched as part of the sysroot and on every compiler command line after the sysroot's own.
# Tests run under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR) in Q8CONV_QEMU_LD_PREFIX, the
# root of the arm64 system that the dynamic linker and the Vulkan loader look in (default: the
# cross libc, enough for the pure unit tests).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)

get_property(q8conv_in_try_compile GLOBAL PROPERTY IN_TRY_COMPILE)
if(NOT q8conv_in_try_compile)
  set(q8conv_host_sysroot ${CMAKE_BINARY_DIR}/host-sysroot)
  set(q8conv_host_headers "")
  foreach(name vulkan vk_video volk.c volk.h)
    if(EXISTS /usr/include/${name})
      list(APPEND q8conv_host_headers /usr/include/${name})
    endif()
  endforeach()
  if(NOT EXISTS /usr/include/vulkan/vulkan_core.h OR NOT EXISTS /usr/include/volk.c)
    message(FATAL_ERROR "the build host has no Vulkan headers or volk: apt-get install libvulkan-dev libvulkan-volk-dev")
  endif()
  file(COPY ${q8conv_host_headers} DESTINATION ${q8conv_host_sysroot}/usr/include)
  set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu ${q8conv_host_sysroot})
  set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES ${q8conv_host_sysroot}/usr/include)
endif()

set(Q8CONV_QEMU_LD_PREFIX /usr/aarch64-linux-gnu CACHE PATH "Root of the arm64 system the tests run in under qemu-aarch64")
find_program(Q8CONV_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(Q8CONV_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${Q8CONV_QEMU_AARCH64} -L ${Q8CONV_QEMU_LD_PREFIX})
endif()
