# overlay: /usr/share/motd/motd from a repository of its own (repo_name `overlay`); it needs hello from `gentoo`
EAPI=8
DESCRIPTION="rig overlay: a message of the day"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
RDEPEND="app-misc/hello"

src_compile() {
	printf 'welcome to the rig (from the overlay)\n' > motd || die
}

src_install() {
	insinto /usr/share/motd
	doins motd
}
