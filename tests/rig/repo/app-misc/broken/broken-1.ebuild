# rig: fails in src_compile when USE=fail
EAPI=8
DESCRIPTION="rig: deliberately failing build"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
IUSE="fail"

src_compile() {
	use fail && die "rig: deliberate build failure (USE=fail)"
}

src_install() {
	insinto /usr/share/broken
	newins - ok <<< "ok"
}
