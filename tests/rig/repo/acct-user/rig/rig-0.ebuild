# rig: user "rig" with uid 900 and group rig, through the acct-user eclass
EAPI=8
inherit acct-user

ACCT_USER_ID=900
ACCT_USER_GROUPS=( rig )
acct-user_add_deps
