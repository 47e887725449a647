# rig: creates user "rig" (uid 900, group rig) at merge time; no eclass
EAPI=8
DESCRIPTION="rig: system user"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"
DEPEND="acct-group/rig"
RDEPEND="acct-group/rig"

pkg_preinst() {
	grep -q '^rig:' "${ROOT}/etc/passwd" 2>/dev/null && return
	useradd --prefix "${ROOT:-/}" --uid 900 --gid rig --home-dir /dev/null \
		--shell /sbin/nologin --no-create-home rig || die "useradd rig failed"
}
