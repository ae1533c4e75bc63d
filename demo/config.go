package demo

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
)

// Password is the password of every demo IMAP account (whose user name is
// the mailbox's address).
const Password = "demo"

// Config returns config.example.toml's configuration made to run on the
// demo servers. The example's calendars, policies, levels, triage settings,
// mailboxes, agents, teams and customers stay as they are; what changes is
// where things live: the SQLite file is dir/helpdesk.db, every mailbox is an
// account of the demo IMAP server on loopback without TLS (user name: its
// address, password: Password), mail is submitted to the demo SMTP server
// without TLS or login, the SLA check runs every second (so that a sped-up
// clock is followed closely), the mailboxes are polled every five seconds
// besides IDLE, and the HTTP listener is off. Ports are set by UseServers.
func Config(dir string) (*config.Config, error) {
	cfg, _, err := config.Parse("config.example.toml", []byte(helpdesk.ExampleConfig), config.Options{
		// The example's secrets name files and variables of a production
		// machine; the demo sets its passwords itself.
		ResolveSecrets: false,
		LookupEnv:      func(string) (string, bool) { return "", false },
		ReadFile:       func(string) ([]byte, error) { return nil, os.ErrNotExist },
	})
	if err != nil {
		return nil, fmt.Errorf("demo: config.example.toml: %w", err)
	}
	cfg.File = "config.example.toml (demo)"
	cfg.Store.Path = filepath.Join(dir, "helpdesk.db")
	cfg.HTTP.Listen = ""
	cfg.SLA.Schedule = "@every 1s"
	cfg.SMTP.Host = "127.0.0.1"
	cfg.SMTP.Security = config.SecurityNone
	cfg.SMTP.Username = ""
	cfg.SMTP.Password = config.Secret{}
	for i := range cfg.Mailboxes {
		mb := &cfg.Mailboxes[i]
		mb.Host = "127.0.0.1"
		mb.Security = config.SecurityNone
		mb.Username = mb.Address
		mb.Password = config.Secret{Value: Password}
		mb.IDLE = true
		mb.PollInterval = 5 * time.Second
	}
	return cfg, nil
}

// Boxes returns the IMAP accounts that the mailboxes of cfg read: one per
// mailbox, receiving the mail for its address and aliases.
func Boxes(cfg *config.Config) []Box {
	var out []Box
	for _, mb := range cfg.Mailboxes {
		out = append(out, Box{
			Username: mb.Username, Password: mb.Password.Value, Folder: mb.Folder,
			Folders:   []string{mb.ProcessedFolder, mb.QuarantineFolder},
			Addresses: mb.Addresses(),
		})
	}
	return out
}

// UseServers points the mailboxes and the SMTP server of cfg at s.
func UseServers(cfg *config.Config, s *Servers) error {
	ih, ip, err := splitHostPort(s.IMAPAddr())
	if err != nil {
		return err
	}
	sh, sp, err := splitHostPort(s.SMTPAddr())
	if err != nil {
		return err
	}
	for i := range cfg.Mailboxes {
		cfg.Mailboxes[i].Host, cfg.Mailboxes[i].Port = ih, ip
	}
	cfg.SMTP.Host, cfg.SMTP.Port = sh, sp
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("demo: address %s: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 {
		return "", 0, errors.Join(fmt.Errorf("demo: address %s: bad port", addr), err)
	}
	return h, n, nil
}
