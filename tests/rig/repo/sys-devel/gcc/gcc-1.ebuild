# rig: owns the C++ runtime the way Gentoo's gcc does: libstdc++.so.6* and libgcc_s.so.1 (copied from
# the builder's Debian /usr/lib/x86_64-linux-gnu) in /usr/lib/gcc/x86_64-pc-linux-gnu/12/, and
# /etc/ld.so.conf.d/05gcc-x86_64-pc-linux-gnu.conf naming that folder (on Gentoo gcc-config writes it).
# For builders only (rig/base): a minimal image gets these libraries from the runtime-libraries
# action (the .so* files of this package's CONTENTS, then ldconfig -r ROOT), never by emerging gcc.
EAPI=8
DESCRIPTION="rig: C++ runtime libraries (libstdc++, libgcc_s) as Gentoo's gcc installs them"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="GPL-3+"
SLOT="12"
KEYWORDS="amd64"
RESTRICT="strip"

RIG_GCC_LIBDIR="/usr/lib/gcc/x86_64-pc-linux-gnu/12"

src_install() {
	local from="${BROOT}/usr/lib/x86_64-linux-gnu" file
	local files=( "${from}"/libstdc++.so.6* "${from}/libgcc_s.so.1" )
	for file in "${files[@]}"; do
		[[ -e ${file} ]] || die "no ${file} in the builder"
	done
	dodir "${RIG_GCC_LIBDIR}"
	# -P keeps libstdc++.so.6 a symlink to libstdc++.so.6.0.NN, as on Gentoo; -p keeps the modes.
	cp -P -p "${files[@]}" "${ED}${RIG_GCC_LIBDIR}/" || die

	insinto /etc/ld.so.conf.d
	newins - 05gcc-x86_64-pc-linux-gnu.conf <<< "${RIG_GCC_LIBDIR}"
}
