# rig: RDEPEND on dev-libs/libgreet, BDEPEND on dev-util/buildtool (run in src_compile)
EAPI=8
DESCRIPTION="rig: package with run-time and build-time deps"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
RDEPEND="dev-libs/libgreet"
BDEPEND="dev-util/buildtool"

src_compile() {
	buildtool > stamp || die "buildtool not found"
	printf '#!/bin/sh\ncat "%s/usr/share/libgreet/greeting"\n' "${EPREFIX}" > greeter || die
}

src_install() {
	dobin greeter
	insinto /usr/share/greeter
	doins stamp
}
