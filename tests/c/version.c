/*
 * version: the header's version macros, the library's kpos_version() and kpos_version_number()
 * and Cargo.toml agree.
 * The test passes Cargo.toml's version as EXPECTED_VERSION ("MAJOR.MINOR.PATCH") and
 * EXPECTED_VERSION_NUMBER.
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#ifndef EXPECTED_VERSION
#error "compile with -DEXPECTED_VERSION='\"MAJOR.MINOR.PATCH\"' from Cargo.toml"
#endif

/* The composed number is usable in preprocessor conditionals, as tills use it. */
#if KPOS_VERSION_NUMBER != KPOS_VERSION_MAJOR * 10000 + KPOS_VERSION_MINOR * 100 + KPOS_VERSION_PATCH
#error "KPOS_VERSION_NUMBER is not MAJOR * 10000 + MINOR * 100 + PATCH"
#endif

int main(void)
{
    char composed[32];
    snprintf(composed, sizeof composed, "%d.%d.%d", KPOS_VERSION_MAJOR, KPOS_VERSION_MINOR,
             KPOS_VERSION_PATCH);
    CHECK_STR(KPOS_VERSION, EXPECTED_VERSION, "KPOS_VERSION is Cargo.toml's version");
    CHECK_STR(composed, KPOS_VERSION, "KPOS_VERSION is MAJOR.MINOR.PATCH of the macros");
    CHECK(KPOS_VERSION_NUMBER == EXPECTED_VERSION_NUMBER,
          "KPOS_VERSION_NUMBER is MAJOR * 10000 + MINOR * 100 + PATCH of Cargo.toml's version");
    CHECK_STR(kpos_version(), KPOS_VERSION, "kpos_version() at run time equals the header's");
    CHECK(kpos_version_number() == KPOS_VERSION_NUMBER,
          "kpos_version_number() at run time equals KPOS_VERSION_NUMBER");
    CHECK(kpos_version_number() / 10000 == KPOS_VERSION_MAJOR,
          "the major version of the library is the header's");
    printf("# header %s (%d), library %s\n", KPOS_VERSION, KPOS_VERSION_NUMBER, kpos_version());
    return harness_exit();
}
