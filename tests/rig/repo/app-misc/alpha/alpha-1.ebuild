# rig: trivial package
EAPI=8
DESCRIPTION="rig: trivial package alpha"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	insinto /usr/share/alpha
	newins - alpha.txt <<< "alpha"
}
