# rig: /usr/bin/hello prints a line; USE=extra adds /usr/share/hello/extra
EAPI=8
DESCRIPTION="rig: USE-conditional install"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
IUSE="extra"

src_compile() {
	printf '#!/bin/sh\necho "hello from rig"\n' > hello || die
}

src_install() {
	dobin hello
	insinto /usr/share/hello
	newins - greeting <<< "hello"
	use extra && newins - extra <<< "extra"
}
