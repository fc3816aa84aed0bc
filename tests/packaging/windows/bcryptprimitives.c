/*
 * bcryptprimitives.dll stand-in for running the Windows build under wine 8, which lacks it.
 * Rust's standard library gets its random numbers (HashMap seeds) from ProcessPrng in this
 * DLL, present on Windows 10 and later. This one forwards to RtlGenRandom
 * (advapi32!SystemFunction036), which wine has. Test use only: never ship it to a till.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c \
 *       bcryptprimitives.def -ladvapi32
 */

#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
