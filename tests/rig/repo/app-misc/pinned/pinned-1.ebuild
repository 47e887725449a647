# rig: pinned-1 and pinned-2 are both stable; profiles/package.mask masks >=app-misc/pinned-2,
# so emerge picks pinned-1
EAPI=8
DESCRIPTION="rig: a package whose newer version is masked"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	insinto /usr/share/pinned
	newins - version <<< "${PV}"
}
