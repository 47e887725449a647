# overlay: /usr/share/overlay/motd (not /etc/motd: Debian's is there, and CONFIG_PROTECT would keep it),
# from a second repository whose master is the rig's `gentoo`
EAPI=8
DESCRIPTION="overlay: a message of the day"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	insinto /usr/share/overlay
	newins - motd <<< "motd from ::overlay"
}
