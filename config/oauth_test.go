package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// oauthDoc is the minimal configuration with its mailbox (and, with
// smtp, [smtp]) switched to OAuth2 by the given tables' lines.
func oauthDoc(t *testing.T, mailboxTable, smtpTable string) string {
	t.Helper()
	doc := readMinimal(t)
	doc = strings.Replace(doc, "password_file = \"/run/secrets/imap\"\n", "", 1)
	doc = strings.Replace(doc, "policy = \"standard\"\n", "policy = \"standard\"\nauth = \"oauth2\"\n[mailbox.oauth2]\n"+mailboxTable+"\n", 1)
	if smtpTable != "" {
		doc = strings.Replace(doc, "password = \"${HELPDESK_SMTP_PASSWORD}\"\n", "", 1)
		doc = strings.Replace(doc, "from = \"Example Support <support@example.com>\"\n", "from = \"Example Support <support@example.com>\"\nauth = \"oauth2\"\n[smtp.oauth2]\n"+smtpTable+"\n", 1)
	}
	return doc
}

// lineOf is the line of doc where s first appears.
func lineOf(t *testing.T, doc, s string) int {
	t.Helper()
	i := strings.Index(doc, s)
	if i < 0 {
		t.Fatalf("%q not in the document", s)
	}
	return strings.Count(doc[:i], "\n") + 1
}

// TestOAuth2Config: each provider's keys as the loader reads them, the
// secrets resolved from the environment or a file, the defaults.
func TestOAuth2Config(t *testing.T) {
	opts := secretsFrom(true, map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", "M365_SECRET": "client-secret"},
		map[string]string{"/run/secrets/sa.json": `{"type":"service_account"}`, "/run/secrets/m365": "file-secret\n"})
	ms := "provider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"0000-1111\"\nclient_secret = \"${M365_SECRET}\""
	c, _ := mustParse(t, "helpdesk.toml", oauthDoc(t, ms, "provider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"0000-1111\"\nclient_secret_file = \"/run/secrets/m365\""), opts)
	m := c.Mailboxes[0]
	want := &OAuth2{Provider: ProviderMicrosoft, Flow: FlowClientCredentials, Tenant: "contoso.onmicrosoft.com", ClientID: "0000-1111",
		ClientSecret: Secret{Env: "M365_SECRET", Value: "client-secret"}}
	if m.Auth != AuthOAuth2 || !reflect.DeepEqual(m.OAuth2, want) || !m.Password.IsZero() {
		t.Errorf("mailbox: auth %q, oauth2 %#v, password %v", m.Auth, m.OAuth2, m.Password)
	}
	if s := c.SMTP; s.Auth != AuthOAuth2 || s.OAuth2 == nil || s.OAuth2.ClientSecret.Value != "file-secret" || s.OAuth2.ClientSecret.File != "/run/secrets/m365" {
		t.Errorf("smtp: auth %q, oauth2 %#v", s.Auth, s.OAuth2)
	}

	c, _ = mustParse(t, "helpdesk.toml", oauthDoc(t, "provider = \"google\"\nkey_file = \"/run/secrets/sa.json\"\nmechanism = \"xoauth2\"", ""), opts)
	g := c.Mailboxes[0].OAuth2
	if g.Provider != ProviderGoogle || g.Subject != "support@example.com" || g.KeyFile.Value != `{"type":"service_account"}` || g.Mechanism != "XOAUTH2" {
		t.Errorf("google: %#v", g)
	}
	if c.SMTP.Auth != AuthPassword || c.SMTP.OAuth2 != nil {
		t.Errorf("smtp without auth: %q %#v", c.SMTP.Auth, c.SMTP.OAuth2)
	}

	// Delegated Microsoft access: a public client, no secret needed.
	c, _ = mustParse(t, "helpdesk.toml", oauthDoc(t, "provider = \"microsoft\"\nflow = \"device\"\ntenant = \"organizations\"\nclient_id = \"0000-1111\"", ""), opts)
	if o := c.Mailboxes[0].OAuth2; o.Flow != FlowDevice || !o.ClientSecret.IsZero() {
		t.Errorf("microsoft device: %#v", o)
	}

	c, _ = mustParse(t, "helpdesk.toml", oauthDoc(t, "provider = \"generic\"\ntoken_url = \"https://idp.example.com/oauth2/token\"\nscopes = [\"mail.imap\", \"mail.smtp\"]\nclient_id = \"helpdeskd\"\nclient_secret = \"${M365_SECRET}\"", ""), opts)
	if o := c.Mailboxes[0].OAuth2; o.TokenURL != "https://idp.example.com/oauth2/token" || !reflect.DeepEqual(o.Scopes, []string{"mail.imap", "mail.smtp"}) {
		t.Errorf("generic: %#v", o)
	}
}

// TestOAuth2Rejections: every mistake names its file, line and key.
func TestOAuth2Rejections(t *testing.T) {
	resolve := secretsFrom(true, map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", "S": "x"}, map[string]string{"/run/secrets/sa.json": "{}"})
	ms := "provider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret = \"${S}\""
	for _, tc := range []struct {
		name        string
		mbox, smtp  string
		edit        func(string) string
		key, at, in string // the problem's key, the text on its line, a part of its message
	}{
		{"no provider", "tenant = \"t\"", "", nil, "mailbox[0].oauth2.provider", "[mailbox.oauth2]", "required"},
		{"unknown provider", "provider = \"okta\"", "", nil, "mailbox[0].oauth2.provider", "provider = \"okta\"", `"okta": want "microsoft"`},
		{"no tenant", "provider = \"microsoft\"\nclient_id = \"c\"\nclient_secret = \"${S}\"", "", nil, "mailbox[0].oauth2.tenant", "[mailbox.oauth2]", "tenant id or domain"},
		{"literal secret", "provider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret = \"abc~123\"", "", nil, "mailbox[0].oauth2.client_secret", "client_secret = ", "a literal client secret is not allowed"},
		{"unreadable secret file", "provider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"/run/secrets/nope\"", "", nil, "mailbox[0].oauth2.client_secret_file", "client_secret_file", "cannot read client secret file"},
		{"no secret", "provider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"", "", nil, "mailbox[0].oauth2.client_secret", "[mailbox.oauth2]", "required: client_secret"},
		{"generic without token_url", "provider = \"generic\"\nscopes = [\"a\"]\nclient_id = \"c\"\nclient_secret = \"${S}\"", "", nil, "mailbox[0].oauth2.token_url", "[mailbox.oauth2]", "required with provider"},
		{"token_url in clear", "provider = \"generic\"\ntoken_url = \"http://idp.example.com/token\"\nscopes = [\"a\"]\nclient_id = \"c\"\nclient_secret = \"${S}\"", "", nil, "mailbox[0].oauth2.token_url", "token_url", "want an https URL"},
		{"key of another provider", ms + "\nkey_file = \"/x.json\"", "", nil, "mailbox[0].oauth2.key_file", "key_file", `not used with provider "microsoft"`},
		{"bad mechanism", ms + "\nmechanism = \"plain\"", "", nil, "mailbox[0].oauth2.mechanism", "mechanism", `"plain": want "XOAUTH2"`},
		{"password beside oauth2", ms, "", func(d string) string {
			return strings.Replace(d, "auth = \"oauth2\"\n", "auth = \"oauth2\"\npassword = \"${S}\"\n", 1)
		}, "mailbox[0].password", "password = \"${S}\"", "logs in with a token"},
		{"unknown auth", ms, "", func(d string) string { return strings.Replace(d, "auth = \"oauth2\"", "auth = \"kerberos\"", 1) },
			"mailbox[0].auth", "auth = \"kerberos\"", `"kerberos": want "password" or "oauth2"`},
		{"oauth2 without auth", ms, "", func(d string) string {
			return strings.Replace(d, "auth = \"oauth2\"\n", "password_file = \"/run/secrets/imap\"\n", 1)
		},
			"mailbox[0].oauth2", "[mailbox.oauth2]", `auth is "password"`},
		{"misspelt key", ms + "\nclient_secert = \"x\"", "", nil, "mailbox[0].oauth2.client_secert", "client_secert", `did you mean "client_secret"`},
		{"device flow for google", "provider = \"google\"\nkey_file = \"/run/secrets/sa.json\"\nflow = \"device\"", "", nil, "mailbox[0].oauth2.flow", "flow = ", "use a service account"},
		{"generic device without device_url", "provider = \"generic\"\nflow = \"device\"\ntoken_url = \"https://idp.example.com/token\"\nscopes = [\"a\"]\nclient_id = \"c\"", "", nil, "mailbox[0].oauth2.device_url", "[mailbox.oauth2]", "device authorization endpoint"},
		{"device_url without the device flow", ms + "\ndevice_url = \"https://login.example.com/devicecode\"", "", nil, "mailbox[0].oauth2.device_url", "device_url", "only used with flow"},
		{"unknown flow", ms + "\nflow = \"implicit\"", "", nil, "mailbox[0].oauth2.flow", "flow = ", `"implicit": want`},
		{"smtp mechanism", ms, ms + "\nmechanism = \"XOAUTH2\"", nil, "smtp.oauth2.mechanism", "mechanism = \"XOAUTH2\"", "SMTP always authenticates with XOAUTH2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := oauthDoc(t, tc.mbox, tc.smtp)
			if tc.edit != nil {
				doc = tc.edit(doc)
			}
			opts := resolve
			if strings.Contains(doc, "/run/secrets/imap\"") {
				opts = secretsFrom(true, map[string]string{"HELPDESK_SMTP_PASSWORD": "pw", "S": "x"}, map[string]string{"/run/secrets/imap": "pw"})
			}
			probs := problemsOf(t, doc, opts)
			// The line of the last occurrence before the key's table ends
			// is the one meant when the text repeats (smtp and mailbox).
			at := lineOf(t, doc, tc.at)
			if strings.HasPrefix(tc.key, "mailbox") && strings.Count(doc, tc.at) > 1 {
				at = lineOf(t, doc[strings.Index(doc, "[[mailbox]]"):], tc.at) + strings.Count(doc[:strings.Index(doc, "[[mailbox]]")], "\n")
			}
			want := fmt.Sprintf("helpdesk.toml:%d: %s: ", at, tc.key)
			if len(probs) != 1 || !strings.HasPrefix(probs[0], want) || !strings.Contains(probs[0], tc.in) {
				t.Errorf("problems:\n%s\nwant one %s...%s\ndocument:\n%s", strings.Join(probs, "\n"), want, tc.in, doc)
			}
		})
	}
}

// TestExampleOAuth2: the OAuth2 mailboxes config.example.toml shows as
// "#> " lines load as they say.
func TestExampleOAuth2(t *testing.T) {
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(b), "\n#> ", "\n")
	if strings.Count(string(b), "\n#> ") < 30 {
		t.Fatal("the example has lost its OAuth2 mailboxes")
	}
	c, _ := mustParse(t, "config.example.toml", doc, noSecrets)
	got := map[string]string{}
	for _, m := range c.Mailboxes {
		if m.Auth == AuthOAuth2 {
			got[m.Name] = m.OAuth2.Provider
		}
	}
	want := map[string]string{"contoso": ProviderMicrosoft, "contoso-delegated": ProviderMicrosoft, "fabrikam": ProviderGoogle, "northwind": ProviderGeneric}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OAuth2 mailboxes %v, want %v", got, want)
	}
}
