#!/bin/sh
# Usage: HS256_KEY_B64=KEY dovecot-oauth2-conf.sh DIR PORT
#
# dovecot-conf.sh plus OAuth2 bearer tokens (SASL XOAUTH2 and OAUTHBEARER):
# an oauth2 passdb that validates JWTs locally, signed HS256 with KEY (the
# base64 of the key the test's token endpoint signs with), issuer
# https://idp.helpdesk.test, audience helpdesk-imap, scope mail.imap, the
# SASL user equal to "sub" (testenv.TokenServer issues such tokens). From
# ../shared/dovecot/mkconf-oauth2.sh, checked on Dovecot 2.3.19.1.
#
# Writes DIR/dovecot.conf and DIR/users: a throwaway Dovecot 2.3 (Debian's
# dovecot-imapd) for helpdeskd's end-to-end test. IMAP on 127.0.0.1:PORT
# only, no TLS, plaintext auth (loopback only), one static user "testuser"
# with password "testpass" from a passwd-file, Maildir under DIR/mail.
# The test runs "dovecot -F -c DIR/dovecot.conf" itself and stops it.
#
# This is the project's own copy of the recipe verified for this machine
# kind (Debian 12, Dovecot 2.3.19.1), as root and unprivileged.
set -eu
D=$(realpath -m "$1"); PORT=$2
U=$(id -un); G=$(id -gn); UID_=$(id -u); GID_=$(id -g)
LOGIN_USER=$U
if [ "$UID_" = 0 ]; then
  # imap-login refuses to run as root ("This process must not be run as
  # root") and mail may not be owned by uid 0 ("userdb returned 0 as uid"):
  # use the unprivileged users the dovecot-core package creates.
  LOGIN_USER=dovenull; U=dovecot; G=dovecot
  UID_=$(id -u dovecot); GID_=$(id -g dovecot)
fi
: "${HS256_KEY_B64:?set HS256_KEY_B64 to the token endpoint's key, base64}"
mkdir -p "$D/run" "$D/state" "$D/mail" "$D/keydict/default/HS256"
# Dovecot looks up shared/<azp|default>/<ALG>/<kid|default>; fs:posix drops
# "shared/". The HS256 key is stored base64-encoded.
printf '%s' "$HS256_KEY_B64" > "$D/keydict/default/HS256/default"
chmod 755 "$D" "$D/run"
if [ "$(id -u)" = 0 ]; then
  chown "$UID_:$GID_" "$D/mail"
  # the auth process runs as the internal user: it reads the key dict
  chown -R "$UID_:$GID_" "$D/keydict"
fi
cat > "$D/dovecot-oauth2.conf.ext" <<EXT
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$D/keydict/
username_attribute = sub
issuers = https://idp.helpdesk.test
client_id = helpdesk-imap
scope = mail.imap
EXT
# passwd-file passdb: PLAIN scheme, test only.
printf 'testuser:{PLAIN}testpass::::::\n' > "$D/users"
cat > "$D/dovecot.conf" <<CONF
# Minimal self-contained Dovecot 2.3 config for tests (no /etc/dovecot include).
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = helpdeskd-e2e-$PORT
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
debug_log_path = $D/dovecot.log

ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# the reason of a refused token (expired, signature...) in dovecot.log
auth_verbose = yes
auth_failure_delay = 0

default_login_user = $LOGIN_USER
default_internal_user = $U
default_internal_group = $G
first_valid_uid = $UID_
last_valid_uid = $UID_
first_valid_gid = $GID_
last_valid_gid = $GID_

mail_location = maildir:$D/mail/%n/Maildir
namespace inbox {
  inbox = yes
  separator = /
}

# Tokens only for the bearer mechanisms, passwords only for PLAIN/LOGIN.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/dovecot-oauth2.conf.ext
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%n $D/users
}
userdb {
  driver = static
  args = uid=$UID_ gid=$GID_ home=$D/mail/%n
}

service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
  # no auth penalty: after a few refused logins from 127.0.0.1 anvil would
  # delay every AUTHENTICATE, good tokens too, by up to 15 s
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  chroot =
}
service auth {
  user = \$default_internal_user
}
CONF
echo "$D/dovecot.conf"
