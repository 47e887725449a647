# rig: a static busybox for minimal images: the builder's /bin/busybox (Debian's busybox-static in the
# rig root) with a symlink per applet, so a minimal root gets a shell and the usual commands
EAPI=8
DESCRIPTION="rig: static busybox with its applet symlinks"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64"

src_compile() {
	[[ -x ${BROOT}/bin/busybox ]] || die "no ${BROOT}/bin/busybox: the rig root needs Debian's busybox-static"
	cp "${BROOT}/bin/busybox" busybox || die
	./busybox --list > applets || die "busybox --list failed"
}

src_install() {
	exeinto /bin
	doexe busybox
	local applet
	while read -r applet; do
		[[ ${applet} == busybox ]] || dosym busybox "/bin/${applet}"
	done < applets
}
