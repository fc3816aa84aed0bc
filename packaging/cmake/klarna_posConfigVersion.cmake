# The version of the klarna_pos CMake package: Cargo.toml's (tests/packaging/layout_check.sh
# fails when they differ). A request is met by the same major version, at least as new: the ABI
# stays compatible within a major version, also while it is 0 (the SONAME is libklarna_pos.so.0).
set(PACKAGE_VERSION "0.1.0")
if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
    string(REGEX MATCH "^[0-9]+" _kpos_major "${PACKAGE_VERSION}")
    if(PACKAGE_FIND_VERSION_MAJOR STREQUAL _kpos_major)
        set(PACKAGE_VERSION_COMPATIBLE TRUE)
    else()
        set(PACKAGE_VERSION_COMPATIBLE FALSE)
    endif()
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
        set(PACKAGE_VERSION_EXACT TRUE)
    endif()
    unset(_kpos_major)
endif()
