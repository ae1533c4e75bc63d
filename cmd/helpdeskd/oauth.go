package main

import (
	"fmt"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/mailbox"
	"github.com/helpdeskd/helpdesk/oauth"
)

// tokenFunc is the token source of an account with auth = "oauth2" (user
// is its username), or nil for a password login. The token cache runs on
// the wall clock: a demo's faster clock must not expire real tokens.
func tokenFunc(auth string, o *config.OAuth2, user string) (mailbox.TokenFunc, error) {
	if auth != config.AuthOAuth2 || o == nil {
		return nil, nil
	}
	oc := oauth.Config{Provider: o.Provider, Tenant: o.Tenant, TokenURL: o.TokenURL, ClientID: o.ClientID,
		Subject: o.Subject, Scopes: o.Scopes}
	if !o.ClientSecret.IsZero() {
		oc.ClientSecret = o.ClientSecret.Current
	}
	if !o.KeyFile.IsZero() {
		key := o.KeyFile
		oc.KeyFile = func() ([]byte, error) {
			v, err := key.Current()
			return []byte(v), err
		}
	}
	if oc.Subject == "" {
		oc.Subject = user
	}
	src, err := oauth.New(oc)
	if err != nil {
		return nil, fmt.Errorf("oauth2 of %s: %w", user, err)
	}
	return src.Token, nil
}
