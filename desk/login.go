package desk

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// LoginMailEvery is how often at most the managers are mailed about one
// account whose login keeps being refused: a crash loop, a restart or a
// login that comes and goes must not flood them, and a failure that lasts
// must not be forgotten (osTicket's users found out after ten days of
// silence).
const LoginMailEvery = 24 * time.Hour

// maxLoginReason bounds the server's or provider's words a mail repeats.
const maxLoginReason = 1000

// LoginRefused records that account's login was refused (a mailbox's
// name, or the SMTP account's as Config.Logins names it; reason: the
// server's or the token provider's words) and, unless the managers were
// mailed about the account less than LoginMailEvery ago, mails them what
// failed, since when and what renews it (template login_failed), through
// the outbox in the same transaction. An account Config.Logins does not
// know is recorded and mailed about with what is known.
func (d *Desk) LoginRefused(ctx context.Context, account, reason string) error {
	reason = oneLine(reason, maxLoginReason)
	acc, ok := d.cfg.Logins[account]
	if !ok {
		acc = templates.LoginFailure{Account: account}
	}
	var (
		mailed    bool
		messageID string
		rec       store.LoginFailure
		m         helpdesk.OutMail
	)
	err := d.st.Update(ctx, func(tx *store.Tx) error {
		var err error
		if rec, err = tx.LoginFailed(account, reason); err != nil {
			return err
		}
		now := tx.Now()
		if !rec.MailedAt.IsZero() && now.Sub(rec.MailedAt) < LoginMailEvery {
			return nil
		}
		// Recorded even with no manager to mail, so that the warning
		// below comes once a day too.
		if err := tx.LoginMailed(account); err != nil {
			return err
		}
		mailed = true
		if len(d.cfg.Managers) == 0 {
			return nil
		}
		acc.Reason, acc.Since = reason, formatTime(rec.Since, Location(d.policy(d.loginPolicy(acc.Mailbox)), &helpdesk.Ticket{}))
		r, err := d.tmpl.Render("login_failed", templates.Data{Desk: d.cfg.Name, Login: &acc})
		if err != nil {
			return fmt.Errorf("render login_failed for %s: %w", account, err)
		}
		m = helpdesk.OutMail{Kind: helpdesk.KindSystem, MessageID: helpdesk.NewMessageID(d.cfg.From.Email),
			From: d.cfg.From, To: d.cfg.Managers, Subject: clip(fmt.Sprintf("%s: %s cannot log in", d.cfg.Name, acc.Account), maxSubject),
			Text: r.Text, HTML: r.HTML, Auto: true}
		if err := tx.Enqueue(&m); err != nil {
			return err
		}
		messageID = m.MessageID
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the refused login of %s: %w", account, err)
	}
	if !mailed {
		return nil
	}
	attrs := loginAttrs(acc, account)
	if messageID == "" {
		d.log.Warn("no manager to mail about the refused login: no agent has manager = true and no policy escalates to an address",
			append(attrs, "since", rec.Since)...)
		return nil
	}
	d.log.Info("managers mailed about the refused login", append(attrs, "since", rec.Since, "message_id", messageID)...)
	if acc.Sending {
		d.log.Warn("the managers' mail about the refused SMTP login waits in the outbox: it can go out only through the account that was refused; /healthz and this log are the alarm until then",
			append(attrs, "message_id", messageID)...)
	}
	if h := d.hooks.Enqueued; h != nil {
		h(m)
	}
	d.kick()
	return nil
}

// LoginWorks records that account logged in. When it was being refused
// (by this run of the daemon or one before it) it logs that the login
// works again, and since when it had failed.
func (d *Desk) LoginWorks(ctx context.Context, account string) error {
	var before store.LoginFailure
	err := d.st.Update(ctx, func(tx *store.Tx) (err error) {
		before, err = tx.LoginWorks(account)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the login of %s: %w", account, err)
	}
	if !before.Since.IsZero() {
		acc := d.cfg.Logins[account]
		d.log.Info("login accepted again after refusals", append(loginAttrs(acc, account),
			"refused_since", before.Since, "last_reason", before.Error, "managers_mailed", before.MailedAt)...)
	}
	return nil
}

// loginAttrs are the log attributes of an account: its mailbox, or the
// account's name when it is not a mailbox's.
func loginAttrs(acc templates.LoginFailure, account string) []any {
	if acc.Mailbox != "" {
		return []any{"mailbox", acc.Mailbox}
	}
	return []any{"account", account}
}

// loginPolicy is the policy whose calendar's zone the mail about a
// mailbox's login gives times in; the default policy's for the SMTP
// account.
func (d *Desk) loginPolicy(mailbox string) string {
	if mb := d.boxes[mailbox]; mb != nil {
		return mb.Policy
	}
	return d.cfg.DefaultPolicy
}

// oneLine is s with control characters and runs of white space made one
// space, cut to n characters: words from outside (a server's, a
// provider's) that a mail repeats on one line.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return clip(strings.Join(strings.Fields(s), " "), n)
}
