# SPDX-License-Identifier: MIT
# Cross build for 64-bit ARM (Raspberry Pi-class boards):
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=deploy/dist/cmake/arm64.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CN_TRIPLET aarch64-linux-gnu)
set(CN_DEB_ARCH arm64)
set(CN_QEMU aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross.cmake)
