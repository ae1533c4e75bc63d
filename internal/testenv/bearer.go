package testenv

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

// XOAuth2 is the name of the XOAUTH2 SASL mechanism.
const XOAuth2 = "XOAUTH2"

// bearerServer is the server side of SASL XOAUTH2 and OAUTHBEARER as
// Dovecot and Exchange speak them: the initial response carries the user
// and the bearer token; a refused token gets a JSON challenge, and the
// exchange ends with a failure once the client answers it.
type bearerServer struct {
	mech   string
	verify func(user, token string) error
	ok     func(user string) error
	refuse error // the protocol's final answer to a refused token
	failed error // set once the challenge of a refusal is sent
	done   bool
}

// Next implements sasl.Server.
func (s *bearerServer) Next(resp []byte) ([]byte, bool, error) {
	if s.failed != nil {
		return nil, true, s.failed
	}
	if s.done {
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	s.done = true
	user, token, err := parseBearer(s.mech, resp)
	if err == nil {
		err = s.verify(user, token)
	}
	if err != nil {
		s.failed = s.refuse
		if s.mech == sasl.OAuthBearer {
			return []byte(`{"status":"invalid_token"}`), false, nil
		}
		return []byte(`{"status":"401","schemes":"bearer","scope":"mail"}`), false, nil
	}
	return nil, true, s.ok(user)
}

// parseBearer reads the user and token of an initial response:
// "user=U\x01auth=Bearer T\x01\x01" (XOAUTH2) or
// "n,a=U,\x01host=...\x01auth=Bearer T\x01\x01" (OAUTHBEARER, RFC 7628 §3.1).
func parseBearer(mech string, resp []byte) (user, token string, err error) {
	kv := resp
	if mech == sasl.OAuthBearer {
		parts := bytes.SplitN(resp, []byte{','}, 3)
		if len(parts) != 3 || string(parts[0]) != "n" {
			return "", "", errors.New("bad gs2 header")
		}
		user = strings.TrimPrefix(string(parts[1]), "a=")
		kv = parts[2]
	}
	for _, f := range strings.Split(string(kv), "\x01") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "user":
			user = v
		case "auth":
			var ok bool
			if token, ok = strings.CutPrefix(v, "Bearer "); !ok {
				return "", "", errors.New("not a bearer token")
			}
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("user or token missing")
	}
	return user, token, nil
}

// bearerSession adds AUTHENTICATE XOAUTH2 and OAUTHBEARER to an in-memory
// session: a token verify accepts logs the session in as the account.
type bearerSession struct {
	imapserver.SessionIMAP4rev2
	verify   func(user, token string) error
	password string
}

// AuthenticateMechanisms implements imapserver.SessionSASL.
func (s bearerSession) AuthenticateMechanisms() []string {
	return []string{sasl.OAuthBearer, XOAuth2}
}

// Authenticate implements imapserver.SessionSASL.
func (s bearerSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.OAuthBearer, XOAuth2:
	default:
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
	}
	return &bearerServer{mech: mech, verify: s.verify, refuse: &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Authentication failed."}, ok: func(user string) error {
		return s.SessionIMAP4rev2.Login(user, s.password)
	}}, nil
}

// VerifyJWT checks token as Dovecot's oauth2 passdb does with local
// validation: an HS256 signature under the server's key, exp after now,
// iss, aud and scope as the server issues them, and sub equal to user.
func (ts *TokenServer) VerifyJWT(user, token string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	mac := hmac.New(sha256.New, ts.Key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return errors.New("incorrect JWT signature")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var c struct {
		Sub, Iss, Aud, Scope string
		Exp                  int64
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return err
	}
	switch {
	case c.Exp <= now.Unix():
		return errors.New("token has expired")
	case c.Iss != TokenIssuer || c.Aud != TokenAudience || !strings.Contains(c.Scope, "mail.imap"):
		return fmt.Errorf("issuer, audience or scope not allowed: %s %s %q", c.Iss, c.Aud, c.Scope)
	case !strings.EqualFold(c.Sub, user):
		return fmt.Errorf("username %q did not match %q", user, c.Sub)
	}
	return nil
}
