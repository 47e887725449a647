# rig: keyworded for the testing branch only (~amd64): emerge takes it only where
# package.accept_keywords accepts ~amd64 for it
EAPI=8
DESCRIPTION="rig: a package on the testing branch"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="~amd64"

src_install() {
	insinto /usr/share/edge
	newins - version <<< "${PV}"
}
