package message

import (
	"strconv"
	"strings"

	gomessage "github.com/emersion/go-message"
)

// spamVerdict reports why the receiving server marked the mail as spam,
// from the verdict fields spam filters add to the header; "" when none
// says spam. Of each field the topmost is read: the one the last server
// that handled the mail wrote (filters replace or strip earlier copies of
// their own fields). Score lines without a verdict (rspamd's
// X-Spamd-Result, X-Spam-Score, X-Spam-Level) are not verdicts.
func spamVerdict(h *gomessage.Header) string {
	// SpamAssassin: X-Spam-Flag: YES on spam (and no field, or NO, on
	// ham).
	if v := spamField(h, "X-Spam-Flag"); strings.EqualFold(v, "yes") {
		return "X-Spam-Flag: YES"
	}
	// SpamAssassin: X-Spam-Status: "Yes, score=7.1 required=5.0 tests=..."
	// or "No, score=...".
	if v := spamField(h, "X-Spam-Status"); spamYes(v) {
		return "X-Spam-Status: Yes" + spamScore(v)
	}
	// rspamd's milter (and Stalwart, Mailcow): X-Spam: Yes for the "add
	// header" action.
	if v := spamField(h, "X-Spam"); strings.EqualFold(v, "yes") || strings.EqualFold(v, "true") {
		return "X-Spam: " + v
	}
	// rspamd's action, as its milter headers or the proxy add it: every
	// action but "no action" and "greylist" is a spam verdict.
	for _, key := range []string{"X-Rspamd-Action", "X-Spam-Action"} {
		v := strings.ToLower(spamField(h, key))
		switch strings.NewReplacer("_", " ", "-", " ").Replace(v) {
		case "reject", "soft reject", "add header", "rewrite subject":
			return key + ": " + v
		}
	}
	// Microsoft Exchange / Exchange Online: the spam confidence level,
	// 5 and above spam (-1 bypassed filtering, 0 to 4 not spam).
	if v := spamField(h, "X-MS-Exchange-Organization-SCL"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 5 {
			return "X-MS-Exchange-Organization-SCL: " + v
		}
	}
	// Exchange Online Protection: the spam filter verdict SFV, SPM
	// (spam) or SKS (marked spam by a mail flow rule before filtering);
	// NSPM is not spam, SFE and SKN were let through.
	if v := spamField(h, "X-Forefront-Antispam-Report"); v != "" {
		for _, item := range strings.Split(v, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(item), ":")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "SFV") {
				continue
			}
			switch val = strings.ToUpper(strings.TrimSpace(val)); val {
			case "SPM", "SKS":
				return "X-Forefront-Antispam-Report: SFV:" + val
			}
		}
	}
	// Barracuda: "Yes, SCORE=7.23 using ..." or "No, SCORE=...".
	if v := spamField(h, "X-Barracuda-Spam-Status"); spamYes(v) {
		return "X-Barracuda-Spam-Status: Yes" + spamScore(v)
	}
	return ""
}

// spamField returns the topmost field key, its folding undone and its
// white space trimmed.
func spamField(h *gomessage.Header, key string) string {
	v := h.Get(key)
	if strings.ContainsAny(v, "\r\n\t") {
		v = strings.Join(strings.Fields(v), " ")
	}
	return strings.TrimSpace(v)
}

// spamYes reports whether a status field's first word is "Yes":
// "Yes, score=7.1", "Yes hits=...", "YES".
func spamYes(v string) bool {
	w, _, _ := strings.Cut(v, ",")
	w, _, _ = strings.Cut(strings.TrimSpace(w), " ")
	return strings.EqualFold(w, "yes")
}

// spamScore returns ", score=N" for the score or hits a status field
// states, "" if none.
func spamScore(v string) string {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, n, ok := strings.Cut(f, "=")
		if !ok || n == "" {
			continue
		}
		if k = strings.ToLower(k); k == "score" || k == "hits" {
			if _, err := strconv.ParseFloat(n, 64); err == nil {
				return ", score=" + n
			}
		}
	}
	return ""
}
