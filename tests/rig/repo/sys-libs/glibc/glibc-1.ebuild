# rig: the C runtime of the builder (Debian's glibc in the rig root), copied so that a minimal image
# runs dynamically linked programs: the dynamic loader, libc.so.6 and libm.so.6 at Debian's path
# /usr/lib/x86_64-linux-gnu (the loader searches it without an ld.so.cache), the loader's
# /lib64/ld-linux-x86-64.so.2 as an absolute symlink (right whether /lib64 is a folder or a symlink
# to usr/lib64 in the target), /usr/bin/locale (to check generated locales inside an image) and,
# as Gentoo's glibc does, /etc/env.d/00glibc so that env-update writes an ld.so.conf that includes
# /etc/ld.so.conf.d/*.conf (where sys-devel/gcc's library folder is named), and an empty
# /usr/lib/locale for localedef's archive. No ldconfig, no localedef: those run in the builder
# (ldconfig -r ROOT, localedef --prefix=ROOT); portage itself runs ROOT/sbin/ldconfig only, so it
# never makes an ld.so.cache in a minimal root.
EAPI=8
DESCRIPTION="rig: C runtime (dynamic loader, libc, libm) copied from the builder"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="LGPL-2.1+"
SLOT="2.2"
KEYWORDS="amd64"
# Copied verbatim from the builder: nothing to strip (and no strip in the rig root).
RESTRICT="strip"

RIG_LIBDIR="/usr/lib/x86_64-linux-gnu"
RIG_LIBS=( ld-linux-x86-64.so.2 libc.so.6 libm.so.6 )

src_install() {
	local lib
	for lib in "${RIG_LIBS[@]}"; do
		# -L: on Debian these are real files today; follow a symlink should one appear.
		[[ -e ${BROOT}${RIG_LIBDIR}/${lib} ]] || die "no ${BROOT}${RIG_LIBDIR}/${lib} in the builder"
		cp -L "${BROOT}${RIG_LIBDIR}/${lib}" "${lib}" || die
	done
	exeinto "${RIG_LIBDIR}"
	doexe "${RIG_LIBS[@]}"
	dosym "${RIG_LIBDIR}/ld-linux-x86-64.so.2" /lib64/ld-linux-x86-64.so.2

	[[ -x ${BROOT}/usr/bin/locale ]] || die "no ${BROOT}/usr/bin/locale in the builder"
	dobin "${BROOT}/usr/bin/locale"

	printf '# Configuration file for dynamic linker\nLDPATH="include ld.so.conf.d/*.conf"\n' > 00glibc || die
	doenvd 00glibc

	# localedef --prefix=ROOT writes ROOT/usr/lib/locale/locale-archive but does not create the
	# folder ("cannot create temporary file: ...: No such file or directory"); Gentoo's glibc has it.
	keepdir /usr/lib/locale
}
