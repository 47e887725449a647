# rig: run-time dependency of app-misc/greeter
EAPI=8
DESCRIPTION="rig: library-ish run-time dependency"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	insinto /usr/share/libgreet
	newins - greeting <<< "greetings from libgreet"
}
