# rig: a C program built from a source tarball (SRC_URI), fetched from a mirror (GENTOO_MIRRORS),
# checked against its Manifest and compiled by the rig-cc eclass with the build root's gcc;
# USE=loud adds a define
EAPI=8
inherit rig-cc

DESCRIPTION="rig: prints a line, compiled from C"
HOMEPAGE="https://example.invalid/rig"
SRC_URI="https://example.invalid/rig/${P}.tar.gz"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
IUSE="loud"

src_configure() {
	use loud && CPPFLAGS+=" -DRIGSAY_LOUD"
}
