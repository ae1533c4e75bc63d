#!/bin/sh
# Usage: dovecot-conf.sh DIR PORT
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
mkdir -p "$D/run" "$D/state" "$D/mail"
chmod 755 "$D" "$D/run"
if [ "$(id -u)" = 0 ]; then chown "$UID_:$GID_" "$D/mail"; fi
# DOVECOT_SENT=1: a folder "Sent" marked \Sent (RFC 6154 special use),
# created at the first login, as Debian's default configuration has.
SENT_MAILBOX=
if [ "${DOVECOT_SENT:-}" = 1 ]; then
  SENT_MAILBOX='  mailbox Sent {
    special_use = \Sent
    auto = create
  }'
fi
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
auth_mechanisms = plain login
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
$SENT_MAILBOX
}

passdb {
  driver = passwd-file
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
}
service stats {
  chroot =
}
service auth {
  user = \$default_internal_user
}
CONF
echo "$D/dovecot.conf"
