# rig: a C++ program: the builder's /usr/bin/pzstd (Debian's zstd), which links libstdc++.so.6,
# libgcc_s.so.1 and libc.so.6. RDEPEND on sys-libs/glibc only, NOT on sys-devel/gcc: in a minimal
# image `pzstd --version` fails ("libstdc++.so.6: cannot open shared object file") until the
# runtime-libraries action copies gcc's libraries from the builder and runs ldconfig -r ROOT.
EAPI=8
DESCRIPTION="rig: parallel zstd, a C++ program for the runtime-libraries action"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="BSD"
SLOT="0"
KEYWORDS="amd64"
RESTRICT="strip"
RDEPEND="sys-libs/glibc"

src_install() {
	[[ -x ${BROOT}/usr/bin/pzstd ]] || die "no ${BROOT}/usr/bin/pzstd: the rig root needs Debian's zstd"
	dobin "${BROOT}/usr/bin/pzstd"
}
