/*
 * link_check.c: checks an import library of klarna_pos.dll the way a Visual C++ till uses it:
 * compiled against klarna_pos.h (KPOS_STDCALL functions referenced by their decorated names,
 * `_kpos_version_w@8` on 32-bit) and linked without any C runtime. tests/packaging/windows.sh
 * builds it with clang --target=<arch>-pc-windows-msvc -fuse-ld=lld against klarna_pos.lib
 * (-DKPOS_NO_CRT, entry point `start`) and with mingw-w64 gcc against libklarna_pos.dll.a.
 * KPOS_W_FUNCTIONS, written by windows.sh from klarna_pos.def, lists every `_w` function:
 * each is referenced, so the link fails when the library cannot resolve one.
 *
 * Exit status 0 when kpos_version_w gives KPOS_VERSION and kpos_version_number agrees.
 */

#include "klarna_pos.h"
#include "w_functions.h"

#ifdef KPOS_NO_CRT
int start(void)
#else
int main(void)
#endif
{
    uint16_t buf[32];
    int32_t n, i;
    /* Every _w function's address, so that the linker resolves each through the library. */
#define X(name) (const void *)name,
    const void *volatile all[] = {KPOS_W_FUNCTIONS};
#undef X

    if (all[0] == 0)
        return 10;
    n = kpos_version_w(buf, 32);
    if (n != (int32_t)(sizeof KPOS_VERSION - 1))
        return 1;
    for (i = 0; i <= n; i++)
        if (buf[i] != (uint16_t)KPOS_VERSION[i])
            return 2;
    if (kpos_version_number() != KPOS_VERSION_NUMBER)
        return 3;
    return 0;
}
