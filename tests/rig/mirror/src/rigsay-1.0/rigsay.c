/* rigsay: prints one line. The rig builds it from a source tarball that emerge fetches from a
 * mirror and checks against the Manifest; USE=loud compiles it with -DRIGSAY_LOUD. */
#include <stdio.h>

#ifdef RIGSAY_LOUD
#define LINE "RIGSAY 1.0: COMPILED FROM A MIRRORED TARBALL!"
#else
#define LINE "rigsay 1.0: compiled from a mirrored tarball"
#endif

int main(void)
{
	return puts(LINE) == EOF;
}
