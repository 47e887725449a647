# Copyright 2025 buildah-gentoo
# Distributed under the terms of the MIT license

# @ECLASS: acct-group.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: a system group with a fixed id, a small subset of Gentoo's acct-group.eclass
# @DESCRIPTION:
# The rig's stand-in for Gentoo's acct-group.eclass, with the same ebuild interface for what it
# does: an acct-group/NAME ebuild sets ACCT_GROUP_ID, and merging it creates group NAME with that
# id in ${ROOT} (groupadd --prefix, so a ROOT= install into a new root works). A group of that name
# already there is kept; an id another group holds fails the merge. Unlike Gentoo's eclass, the id
# is always enforced and a group is never removed or modified.
#
# Example (acct-group/rig/rig-0.ebuild):
#   EAPI=8
#   inherit acct-group
#   ACCT_GROUP_ID=900

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_ACCT_GROUP_ECLASS} ]]; then
_ACCT_GROUP_ECLASS=1

[[ ${CATEGORY} == acct-group ]] || die "${ECLASS}: ebuild category must be acct-group, not ${CATEGORY}"

# @ECLASS_VARIABLE: ACCT_GROUP_ID
# @REQUIRED
# @DESCRIPTION:
# The group's id (a whole number).

DESCRIPTION="System group: ${PN}"
HOMEPAGE="https://example.invalid/rig"
SLOT="0"
KEYWORDS="amd64"
S=${WORKDIR}

# @FUNCTION: acct-group_pkg_pretend
# @DESCRIPTION:
# Checks that the ebuild set ACCT_GROUP_ID to a whole number.
acct-group_pkg_pretend() {
	[[ ${ACCT_GROUP_ID} =~ ^[0-9]+$ ]] || die "${ECLASS}: ACCT_GROUP_ID must be a whole number, not '${ACCT_GROUP_ID}'"
}

# @FUNCTION: acct-group_pkg_preinst
# @DESCRIPTION:
# Creates the group with its id in ${ROOT}, unless a group of that name is there.
acct-group_pkg_preinst() {
	acct-group_pkg_pretend
	if grep -q "^${PN}:" "${ROOT}/etc/group" 2>/dev/null; then
		elog "group ${PN} exists in ${ROOT:-/}: kept"
		return
	fi
	groupadd --prefix "${ROOT:-/}" --gid "${ACCT_GROUP_ID}" "${PN}" \
		|| die "${ECLASS}: groupadd ${PN} (gid ${ACCT_GROUP_ID}) failed"
}

fi

EXPORT_FUNCTIONS pkg_pretend pkg_preinst
