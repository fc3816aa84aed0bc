# CMake package of the klarna_pos library: the imported target klarna_pos::klarna_pos (the
# shared library, its headers as usage requirements).
#
#   find_package(klarna_pos 0.1 REQUIRED)
#   target_link_libraries(till PRIVATE klarna_pos::klarna_pos)
#
# Relocatable: the prefix is three levels above this file, which lies in
# <prefix>/lib/cmake/klarna_pos/ (the release archives) or <prefix>/share/cmake/klarna_pos/
# (cargo cinstall). Sets klarna_pos_INCLUDE_DIR and klarna_pos_LIBRARY (on Windows also
# klarna_pos_IMPLIB: klarna_pos.lib for MSVC, libklarna_pos.dll.a for MinGW).
cmake_minimum_required(VERSION 3.5...3.31)
get_filename_component(_kpos_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

find_path(klarna_pos_INCLUDE_DIR klarna_pos.h
    PATHS "${_kpos_prefix}/include" NO_DEFAULT_PATH)
if(WIN32)
    find_file(klarna_pos_LIBRARY klarna_pos.dll
        PATHS "${_kpos_prefix}/bin" "${_kpos_prefix}/lib" NO_DEFAULT_PATH)
    if(MSVC)
        set(_kpos_implib klarna_pos.lib klarna_pos.dll.lib)
    else()
        set(_kpos_implib libklarna_pos.dll.a klarna_pos.lib)
    endif()
    find_file(klarna_pos_IMPLIB NAMES ${_kpos_implib}
        PATHS "${_kpos_prefix}/lib" NO_DEFAULT_PATH)
    set(_kpos_required klarna_pos_LIBRARY klarna_pos_IMPLIB klarna_pos_INCLUDE_DIR)
else()
    # lib/ in the archives; cargo cinstall's --libdir may be lib64 or lib/<multiarch>.
    find_library(klarna_pos_LIBRARY NAMES klarna_pos
        PATHS "${_kpos_prefix}"
        PATH_SUFFIXES lib lib64 "lib/${CMAKE_LIBRARY_ARCHITECTURE}"
        NO_DEFAULT_PATH)
    set(_kpos_required klarna_pos_LIBRARY klarna_pos_INCLUDE_DIR)
endif()

include(FindPackageHandleStandardArgs)
# klarna_pos_VERSION is set by find_package from klarna_posConfigVersion.cmake.
find_package_handle_standard_args(klarna_pos
    REQUIRED_VARS ${_kpos_required}
    VERSION_VAR klarna_pos_VERSION)

if(klarna_pos_FOUND AND NOT TARGET klarna_pos::klarna_pos)
    add_library(klarna_pos::klarna_pos SHARED IMPORTED)
    set_target_properties(klarna_pos::klarna_pos PROPERTIES
        IMPORTED_LOCATION "${klarna_pos_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${klarna_pos_INCLUDE_DIR}")
    if(WIN32)
        set_target_properties(klarna_pos::klarna_pos PROPERTIES IMPORTED_IMPLIB "${klarna_pos_IMPLIB}")
    endif()
endif()
unset(_kpos_prefix)
unset(_kpos_implib)
unset(_kpos_required)
