# rig: creates group "rig" (gid 900) at merge time; no eclass
EAPI=8
DESCRIPTION="rig: system group"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"

pkg_preinst() {
	grep -q '^rig:' "${ROOT}/etc/group" 2>/dev/null && return
	groupadd --prefix "${ROOT:-/}" --gid 900 rig || die "groupadd rig failed"
}
