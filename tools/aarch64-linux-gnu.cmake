# aarch64-linux-gnu.cmake - cross toolchain for 64-bit Arm Linux on a Debian
# x86-64 host: gcc-aarch64-linux-gnu, libraries from Debian's arm64 multiarch
# packages in /usr/lib/aarch64-linux-gnu (tools/cross.sh installs them).
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=tools/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# /usr/aarch64-linux-gnu: the cross libc; /: the multiarch libraries and
# the architecture-independent headers in /usr/include
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# the host's x86-64 libraries would link and fail: never pick them
set(CMAKE_IGNORE_PATH
  /usr/lib/x86_64-linux-gnu
  /usr/lib/x86_64-linux-gnu/openblas-openmp
  /usr/lib/x86_64-linux-gnu/openblas-pthread
  /lib/x86_64-linux-gnu
  /usr/include/x86_64-linux-gnu)

# pkg-config: the arm64 .pc files only
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# ctest runs target binaries through qemu, with the loader and libc of
# Debian's arm64 libc6 (the cross package's ld.so does not match that libc)
find_program(PETRI_QEMU_AARCH64 qemu-aarch64)
if(PETRI_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PETRI_QEMU_AARCH64} -L /)
endif()
