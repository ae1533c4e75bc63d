package mailbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// XOAuth2 is the name of the XOAUTH2 SASL mechanism (Google's and
// Microsoft's bearer-token login, documented by Google as
// "xoauth2-protocol").
const XOAuth2 = "XOAUTH2"

// TokenFunc gives the OAuth2 access token of a login. It is called before
// every login (IMAP) and every dial (SMTP); a token source behind it caches
// the token until it expires and fetches a fresh one after that.
type TokenFunc func(ctx context.Context) (string, error)

// reloginMargin is how long before its token expires a session ends to
// log in again.
const reloginMargin = time.Minute

// errRelogin ends a session whose token is about to expire: no failure,
// the next session starts at once.
var errRelogin = errors.New("the session's access token is about to expire")

// bearerClient is a SASL client for XOAUTH2 or OAUTHBEARER (RFC 7628).
// When the server refuses the token it sends a challenge (a JSON error)
// that the client must answer before the server gives its tagged NO;
// bearerClient answers it as both mechanisms' documents say and keeps the
// server's words for the error.
type bearerClient struct {
	mech      string
	ir        []byte
	challenge string // the server's error challenge, if any
}

// newBearerClient returns the SASL client of mech for user's token; host
// and port go into OAUTHBEARER's GS2 fields.
func newBearerClient(mech, user, token, host string, port int) *bearerClient {
	c := &bearerClient{mech: mech}
	switch mech {
	case sasl.OAuthBearer:
		// go-sasl builds the initial response; its Next treats the error
		// challenge as the end, which would have us abort with "*".
		_, c.ir, _ = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}).Start()
	default:
		c.ir = []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
	}
	return c
}

// Start implements sasl.Client.
func (c *bearerClient) Start() (string, []byte, error) { return c.mech, c.ir, nil }

// Next implements sasl.Client: the only challenge of either mechanism is
// the server's refusal. RFC 7628 §3.2.3 answers it with a single %x01;
// Google's XOAUTH2 document with an empty response.
func (c *bearerClient) Next(challenge []byte) ([]byte, error) {
	c.challenge = strings.TrimSpace(string(challenge))
	if len(c.challenge) > 512 { // the server's words, bounded for the log
		c.challenge = c.challenge[:512]
	}
	if c.mech == sasl.OAuthBearer {
		return []byte{1}, nil
	}
	return []byte{}, nil
}

// refusal wraps the server's NO with the challenge it sent before it.
func (c *bearerClient) refusal(err error) error {
	if c.challenge == "" {
		return err
	}
	return fmt.Errorf("%w (server said %s)", err, c.challenge)
}

// bearerMech picks the bearer mechanism the IMAP server advertises:
// OAUTHBEARER, the standard one, before XOAUTH2. "" when it offers
// neither.
func bearerMech(caps imap.CapSet) string {
	mechs := caps.AuthMechanisms()
	for _, m := range []string{sasl.OAuthBearer, XOAuth2} {
		if slices.ContainsFunc(mechs, func(s string) bool { return strings.EqualFold(s, m) }) {
			return m
		}
	}
	return ""
}

// tokenError turns the failure of a TokenFunc into what it means for the
// session: an AuthError when the provider refused the credentials (an
// error in the chain with a Refused method that says so: nothing gets
// better until someone fixes them), the error as it is otherwise (the
// token endpoint is unreachable or failing: an outage, retried as one).
func tokenError(server string, err error) error {
	var r interface{ Refused() bool }
	if errors.As(err, &r) && r.Refused() {
		return &AuthError{Server: server, Err: fmt.Errorf("getting an access token: %w", err)}
	}
	return fmt.Errorf("getting an access token for %s: %w", server, err)
}
