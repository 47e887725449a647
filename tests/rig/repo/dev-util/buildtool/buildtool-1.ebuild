# rig: build-time-only dependency (BDEPEND) of app-misc/greeter
EAPI=8
DESCRIPTION="rig: build tool"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_compile() {
	printf '#!/bin/sh\necho "built by buildtool"\n' > buildtool || die
}

src_install() {
	dobin buildtool
}
