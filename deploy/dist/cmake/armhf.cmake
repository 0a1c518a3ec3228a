# SPDX-License-Identifier: MIT
# Cross build for 32-bit ARM with hardware float (Cubieboard-class boards):
#   cmake -S . -B build/armhf -DCMAKE_TOOLCHAIN_FILE=deploy/dist/cmake/armhf.cmake
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CN_TRIPLET arm-linux-gnueabihf)
set(CN_DEB_ARCH armhf)
set(CN_QEMU arm)
include(${CMAKE_CURRENT_LIST_DIR}/cross.cmake)
