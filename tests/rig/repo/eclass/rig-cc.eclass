# Copyright 2025 buildah-gentoo
# Distributed under the terms of the MIT license

# @ECLASS: rig-cc.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: compiles the C files of ${S} into one program and installs it
# @DESCRIPTION:
# The rig's build system: every *.c file of ${S} is compiled and linked at once with the
# compiler of the build root,
#   ${CC:-gcc} ${CPPFLAGS} ${CFLAGS} ${LDFLAGS} -o ${RIG_CC_PROGRAM} *.c
# and the program goes to /usr/bin. Flags come from make.conf (CFLAGS, LDFLAGS) and from the
# ebuild, which may add to them before rig-cc_src_compile runs (e.g. in src_configure).

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_RIG_CC_ECLASS} ]]; then
_RIG_CC_ECLASS=1

# @ECLASS_VARIABLE: RIG_CC_PROGRAM
# @DESCRIPTION:
# The program's name; ${PN} by default.
: "${RIG_CC_PROGRAM:=${PN}}"

# @FUNCTION: rig-cc_src_compile
# @DESCRIPTION:
# Compiles and links every *.c file of ${S} into ${RIG_CC_PROGRAM}; dies when there is none.
rig-cc_src_compile() {
	local sources=( *.c )
	[[ -f ${sources[0]} ]] || die "${ECLASS}: no *.c file in ${S}"
	# Flags are word lists, as a Makefile would split them.
	local command=( ${CC:-gcc} ${CPPFLAGS} ${CFLAGS} ${LDFLAGS} -o "${RIG_CC_PROGRAM}" "${sources[@]}" )
	echo "${command[@]}"
	"${command[@]}" || die "${ECLASS}: compiling ${RIG_CC_PROGRAM} failed"
}

# @FUNCTION: rig-cc_src_install
# @DESCRIPTION:
# Installs ${RIG_CC_PROGRAM} into /usr/bin, and the documentation einstalldocs finds.
rig-cc_src_install() {
	dobin "${RIG_CC_PROGRAM}"
	einstalldocs
}

fi

EXPORT_FUNCTIONS src_compile src_install
