# rig: trivial package
EAPI=8
DESCRIPTION="rig: trivial package beta"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	insinto /usr/share/beta
	newins - beta.txt <<< "beta"
}
