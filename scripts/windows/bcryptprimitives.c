/* A stand-in for Windows 10's bcryptprimitives.dll, for running Remote4D under Wine 8 only.
 *
 * Rust's standard library takes its random bytes from ProcessPrng (bcryptprimitives.dll), which
 * every supported Windows has and Debian's Wine 8 lacks. This shim gives ProcessPrng from
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements. Never shipped in the
 * installer: scripts/windows/wine-env builds it and puts it beside the executables under test. */
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
