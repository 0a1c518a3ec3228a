# SPDX-License-Identifier: MIT
# Shared part of the cross toolchain files (armhf.cmake, arm64.cmake): the
# Debian cross compiler (crossbuild-essential-ARCH), the libraries of the
# sysroot deploy/scripts/cross-sysroot.sh builds, and qemu-user to run the
# unit tests. Set CN_SYSROOT (cache or environment) for another sysroot.
#
# The cross compiler keeps its own C library (/usr/TRIPLET); the sysroot
# adds only the libraries' headers, .so files and .pc files, found through
# pkg-config with PKG_CONFIG_SYSROOT_DIR. The sysroot's libc6 serves qemu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CN_TRIPLET}-gcc)
if(NOT CN_SYSROOT)
	if(DEFINED ENV{CN_SYSROOT})
		set(CN_SYSROOT $ENV{CN_SYSROOT})
	else()
		set(CN_SYSROOT /opt/cairn-sysroot/${CN_DEB_ARCH})
	endif()
endif()
set(CN_SYSROOT ${CN_SYSROOT} CACHE PATH "sysroot with the ${CN_DEB_ARCH} libraries")
# try_compile projects read this file again: pass the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CN_SYSROOT CN_TRIPLET CN_DEB_ARCH CN_QEMU)
if(NOT EXISTS ${CN_SYSROOT}/usr/lib/${CN_TRIPLET}/pkgconfig/libsodium.pc)
	message(FATAL_ERROR "no ${CN_DEB_ARCH} sysroot in ${CN_SYSROOT}: run "
		"deploy/scripts/cross-sysroot.sh ${CN_DEB_ARCH}")
endif()

# pkg-config: this machine's program, the sysroot's .pc files only.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${CN_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR} ${CN_SYSROOT}/usr/lib/${CN_TRIPLET}/pkgconfig:${CN_SYSROOT}/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(PKG_CONFIG_EXECUTABLE /usr/bin/pkg-config CACHE FILEPATH "")

# The libraries' own dependencies (libnice -> gupnp-igd -> ...) at link time.
set(CMAKE_EXE_LINKER_FLAGS_INIT
	"-Wl,-rpath-link,${CN_SYSROOT}/usr/lib/${CN_TRIPLET}:${CN_SYSROOT}/lib/${CN_TRIPLET}")

# Programs of this machine; libraries and headers of the target.
set(CMAKE_FIND_ROOT_PATH ${CN_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)

# ctest runs the test programs under qemu-user with the sysroot's loader.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-${CN_QEMU}-static;-L;${CN_SYSROOT})
