# Copyright 2025 buildah-gentoo
# Distributed under the terms of the MIT license

# @ECLASS: acct-user.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: a system user with a fixed id, a small subset of Gentoo's acct-user.eclass
# @DESCRIPTION:
# The rig's stand-in for Gentoo's acct-user.eclass, with the same ebuild interface for what it
# does: an acct-user/NAME ebuild sets ACCT_USER_ID and ACCT_USER_GROUPS (the first is the primary
# group), optionally ACCT_USER_HOME and ACCT_USER_SHELL, and calls acct-user_add_deps, which makes
# it depend on acct-group/<group> for each group. Merging it creates user NAME with that id in
# ${ROOT} (useradd --prefix, so a ROOT= install into a new root works); no home is created. A user
# of that name already there is kept; an id another user holds fails the merge. Unlike Gentoo's
# eclass, the id is always enforced and a user is never removed or modified.
#
# Example (acct-user/rig/rig-0.ebuild):
#   EAPI=8
#   inherit acct-user
#   ACCT_USER_ID=900
#   ACCT_USER_GROUPS=( rig )
#   acct-user_add_deps

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_ACCT_USER_ECLASS} ]]; then
_ACCT_USER_ECLASS=1

[[ ${CATEGORY} == acct-user ]] || die "${ECLASS}: ebuild category must be acct-user, not ${CATEGORY}"

# @ECLASS_VARIABLE: ACCT_USER_ID
# @REQUIRED
# @DESCRIPTION:
# The user's id (a whole number).

# @ECLASS_VARIABLE: ACCT_USER_GROUPS
# @REQUIRED
# @DESCRIPTION:
# The user's groups, an array; the first is its primary group.

# @ECLASS_VARIABLE: ACCT_USER_HOME
# @DESCRIPTION:
# The user's home folder (not created); /dev/null by default, as in Gentoo.
: "${ACCT_USER_HOME:=/dev/null}"

# @ECLASS_VARIABLE: ACCT_USER_SHELL
# @DESCRIPTION:
# The user's shell; /sbin/nologin by default, as in Gentoo.
: "${ACCT_USER_SHELL:=/sbin/nologin}"

DESCRIPTION="System user: ${PN}"
HOMEPAGE="https://example.invalid/rig"
SLOT="0"
KEYWORDS="amd64"
S=${WORKDIR}

# @FUNCTION: acct-user_add_deps
# @DESCRIPTION:
# Adds acct-group/<group> to RDEPEND for each of ACCT_USER_GROUPS; call it in global scope, after
# setting them.
acct-user_add_deps() {
	if [[ $(declare -p ACCT_USER_GROUPS 2>/dev/null) != "declare -a"* ]]; then
		die "${ECLASS}: ACCT_USER_GROUPS must be an array"
	elif [[ ${#ACCT_USER_GROUPS[@]} -eq 0 ]]; then
		die "${ECLASS}: ACCT_USER_GROUPS must not be empty"
	fi
	RDEPEND+=${ACCT_USER_GROUPS[*]/#/ acct-group/}
	_ACCT_USER_ADD_DEPS_CALLED=1
}

# @FUNCTION: acct-user_pkg_pretend
# @DESCRIPTION:
# Checks the ebuild's variables.
acct-user_pkg_pretend() {
	[[ ${ACCT_USER_ID} =~ ^[0-9]+$ ]] || die "${ECLASS}: ACCT_USER_ID must be a whole number, not '${ACCT_USER_ID}'"
	[[ ${_ACCT_USER_ADD_DEPS_CALLED} ]] || die "${ECLASS}: the ebuild must call acct-user_add_deps"
}

# @FUNCTION: acct-user_pkg_preinst
# @DESCRIPTION:
# Creates the user with its id, groups, home and shell in ${ROOT}, unless a user of that name is
# there.
acct-user_pkg_preinst() {
	acct-user_pkg_pretend
	if grep -q "^${PN}:" "${ROOT}/etc/passwd" 2>/dev/null; then
		elog "user ${PN} exists in ${ROOT:-/}: kept"
		return
	fi
	local supplementary=( "${ACCT_USER_GROUPS[@]:1}" ) options=()
	if [[ ${#supplementary[@]} -gt 0 ]]; then
		options=( --groups "$(IFS=,; echo "${supplementary[*]}")" )
	fi
	useradd --prefix "${ROOT:-/}" --uid "${ACCT_USER_ID}" --gid "${ACCT_USER_GROUPS[0]}" "${options[@]}" \
		--home-dir "${ACCT_USER_HOME}" --shell "${ACCT_USER_SHELL}" --no-create-home "${PN}" \
		|| die "${ECLASS}: useradd ${PN} (uid ${ACCT_USER_ID}) failed"
}

fi

EXPORT_FUNCTIONS pkg_pretend pkg_preinst
