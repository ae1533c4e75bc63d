package desk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/trust"
)

// sender is who the desk takes a mail to be from.
type sender struct {
	agent *Agent // a proven agent, or nil
	proof string // what proved the agent
	// leaked is the agent whose reply address for the ticket the mail was
	// sent to from another From: the address may have leaked.
	leaked *Agent
	// doubt says why the mail is suspicious ("" when it is not): a forged
	// Authentication-Results field, or an agent's From without proof.
	doubt string
}

// identify decides whether m is an agent's mail on ticket t, and on what
// proof: the agent's reply address for the ticket together with that
// agent's From, or a result our own server wrote (trust.Policy) showing
// DKIM or SPF pass for the agent's domain (RFC 8601). A mail that only
// claims an agent's From, or carries a result forged below our boundary,
// proves nothing and runs no command.
func (w *work) identify(m *helpdesk.Message, t *helpdesk.Ticket, v trust.Verdict) (sender, error) {
	var s sender
	from := strings.ToLower(m.From.Email)
	if t != nil {
		for _, rcpt := range recipients(m) {
			_, token, ok := strings.Cut(w.d.replyTag(rcpt), ".")
			if !ok {
				continue
			}
			a, err := w.agentForToken(t, token)
			if err != nil {
				return sender{}, err
			}
			if a == nil {
				continue
			}
			if a.Email == from {
				s.agent, s.proof = a, "agent reply address"
			} else if s.leaked == nil {
				s.leaked = a
			}
		}
	}
	if s.agent == nil {
		if claimed := w.d.agents[from]; claimed != nil {
			_, domain, _ := strings.Cut(claimed.Email, "@")
			if r, ok := v.Pass(domain); ok {
				s.agent, s.proof, s.leaked = claimed, r.Method+"=pass from "+r.AuthServID, nil
			} else {
				s.doubt = "mail claims an agent's From without proof (not from that agent's reply address, no DKIM/SPF pass our server wrote)"
			}
		}
	}
	if why := v.Suspicion(); why != "" {
		// A forged result runs nothing, whatever else the mail shows.
		s.agent, s.proof, s.doubt = nil, "", why
	}
	return s, nil
}

// agentTicketToken is the token of an agent's reply address for one
// ticket: a MAC of the ticket reference under the agent's secret token, so
// an address proves the agent and names the ticket, and cannot be derived
// from another ticket's address.
func agentTicketToken(agentSecret, ref string) string {
	mac := hmac.New(sha256.New, []byte(agentSecret))
	mac.Write([]byte(strings.ToUpper(ref)))
	sum := mac.Sum(nil)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// agentForToken returns the agent whose reply address for ticket t carries
// token, or nil.
func (w *work) agentForToken(t *helpdesk.Ticket, token string) (*Agent, error) {
	for i := range w.d.cfg.Agents {
		a := &w.d.cfg.Agents[i]
		secret, err := w.agentSecret(a.Email)
		if err != nil {
			return nil, err
		}
		if hmac.Equal([]byte(agentTicketToken(secret, t.Ref)), []byte(token)) {
			return a, nil
		}
	}
	return nil, nil
}

// agentSecret returns the agent's secret token, from the desk's cache or
// the store (which creates it the first time). The cache is filled after
// the commit that read or made a secret, and emptied when the store's
// rotation generation has moved (helpdeskd agent rotate, run by another
// process): the first secret a mail needs costs one look at it.
func (w *work) agentSecret(email string) (string, error) {
	if !w.secretsChecked {
		gen, err := w.tx.AgentTokensGeneration()
		if err != nil {
			return "", err
		}
		w.secretsChecked = true
		if gen != w.d.secretsGen.Load() {
			w.d.secrets.Clear()
			w.d.secretsGen.Store(gen)
		}
	}
	if v, ok := w.d.secrets.Load(email); ok {
		return v.(string), nil
	}
	secret, err := w.tx.AgentToken(email)
	if err != nil {
		return "", err
	}
	d, gen := w.d, w.d.secretsGen.Load()
	w.after = append(w.after, func() {
		if d.secretsGen.Load() == gen { // not rotated since it was read
			d.secrets.Store(email, secret)
		}
	})
	return secret, nil
}

// agentData is the template data of a mail to agent a about ticket t:
// the ticket's, with a as the reader and a's own reply address.
func (w *work) agentData(t *helpdesk.Ticket, a *Agent) (templates.Data, error) {
	addr, err := w.agentReplyAddress(t, a)
	if err != nil {
		return templates.Data{}, err
	}
	data := w.baseData(t)
	data.Agent = helpdesk.Address{Name: a.Name, Email: a.Email}
	data.ReplyAddress = addr
	return data, nil
}

// agentReplyAddress is the reply address of agent a on ticket t.
func (w *work) agentReplyAddress(t *helpdesk.Ticket, a *Agent) (string, error) {
	secret, err := w.agentSecret(a.Email)
	if err != nil {
		return "", err
	}
	return subAddress(w.d.mailboxAddress(t.Mailbox), t.Ref+"."+agentTicketToken(secret, t.Ref)), nil
}
