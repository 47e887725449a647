# rig: the time zone database: the builder's /usr/share/zoneinfo (Debian's tzdata in the rig root),
# every zone with its links (UTC -> Etc/UTC, ...) plus the posix/ and right/ variants, about 4 MB.
# Debian's dangling zoneinfo/localtime -> /etc/localtime is left out. /etc/localtime itself is the
# timezone action's job, as on Gentoo.
EAPI=8
DESCRIPTION="rig: time zone data copied from the builder"
HOMEPAGE="https://example.invalid/rig"
S="${WORKDIR}"
LICENSE="public-domain"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	local zone from="${BROOT}/usr/share/zoneinfo"
	for zone in UTC Etc/UTC Europe/Berlin America/New_York; do
		[[ -e ${from}/${zone} ]] || die "no ${from}/${zone}: the rig root needs Debian's tzdata"
	done
	dodir /usr/share
	# -a keeps the links between zones as symlinks.
	cp -a "${from}" "${ED}/usr/share/" || die
	rm -f "${ED}/usr/share/zoneinfo/localtime" || die
}
