# rig: group "rig" with gid 900, through the acct-group eclass
EAPI=8
inherit acct-group

ACCT_GROUP_ID=900
