package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// testCert returns a server TLS config with a self-signed certificate for
// 127.0.0.1, and a client config trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// sendOver sends one mail over c: from, to every rcpt, then msg; it
// returns the first error.
func sendOver(c *smtp.Client, from string, rcpts []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// smtpCode is the reply code of a refusal net/smtp returned, or 0.
func smtpCode(err error) int {
	var e *textproto.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

const testMsg = "From: a@x.example\r\nTo: b@y.example\r\nSubject: s\r\nMessage-ID: <m@x.example>\r\n\r\nbody\r\n"

// RcptErr, DataErr and CloseAfter answer as told, and the capture counts
// the connections.
func TestSMTPFaults(t *testing.T) {
	var c *SMTP
	refuse := true
	c = StartSMTPWith(t, SMTPOptions{
		RcptErr: func(rcpt string) *gosmtp.SMTPError {
			if rcpt == "gone@y.example" {
				return &gosmtp.SMTPError{Code: 550, Message: "no such user"}
			}
			return nil
		},
		DataErr: func(m Mail) error {
			if refuse {
				refuse = false
				return &gosmtp.SMTPError{Code: 451, Message: "try later"}
			}
			return nil
		},
		CloseAfter: func(m Mail) bool { return strings.Contains(m.Body, "last") },
	})
	cl, err := smtp.Dial(c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := sendOver(cl, "a@x.example", []string{"gone@y.example"}, testMsg); smtpCode(err) != 550 {
		t.Errorf("refused recipient: %v, want 550", err)
	}
	cl.Reset()
	if err := sendOver(cl, "a@x.example", []string{"b@y.example"}, testMsg); smtpCode(err) != 451 {
		t.Errorf("first DATA: %v, want 451", err)
	}
	if err := sendOver(cl, "a@x.example", []string{"b@y.example"}, testMsg); err != nil {
		t.Errorf("second DATA: %v", err)
	}
	if err := sendOver(cl, "a@x.example", []string{"b@y.example"}, strings.Replace(testMsg, "body", "last", 1)); err != nil {
		t.Errorf("mail before the drop: %v", err)
	}
	if err := cl.Noop(); err == nil {
		t.Error("the connection is still open after CloseAfter")
	}
	if n := len(c.Mails()); n != 2 {
		t.Errorf("%d mails recorded, want 2", n)
	}
	send(t, c.Addr(), "a@x.example", "b@y.example", "again", "x")
	if n := c.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// MaxRecipients answers 452 4.5.3 beyond the limit, per transaction, and
// refused recipients do not count towards it.
func TestSMTPMaxRecipients(t *testing.T) {
	c := StartSMTPWith(t, SMTPOptions{MaxRecipients: 2, RcptErr: func(rcpt string) *gosmtp.SMTPError {
		if rcpt == "gone@y.example" {
			return &gosmtp.SMTPError{Code: 550, Message: "no such user"}
		}
		return nil
	}})
	cl, err := smtp.Dial(c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 2 { // the limit holds per transaction
		if err := cl.Mail("a@x.example"); err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"b1@y.example", "gone@y.example", "b2@y.example"} {
			if err := cl.Rcpt(r); err != nil && r != "gone@y.example" {
				t.Fatalf("RCPT %s: %v", r, err)
			}
		}
		err := cl.Rcpt("b3@y.example")
		if smtpCode(err) != 452 || !strings.Contains(err.Error(), "4.5.3") {
			t.Errorf("third accepted recipient: %v, want 452 4.5.3", err)
		}
		w, err := cl.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, testMsg)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Mails() {
		if want := []string{"b1@y.example", "b2@y.example"}; !slices.Equal(m.To, want) {
			t.Errorf("mail to %v, want %v", m.To, want)
		}
	}
	if n := len(c.Mails()); n != 2 {
		t.Errorf("%d mails, want 2", n)
	}
}

// With TLS, MAIL waits for it and AUTH is offered over it: STARTTLS and
// implicit TLS.
func TestSMTPTLS(t *testing.T) {
	server, client := testCert(t)
	for _, starttls := range []bool{true, false} {
		c := StartSMTPWith(t, SMTPOptions{TLS: server, StartTLS: starttls, Auth: true})
		dial := func() *smtp.Client {
			t.Helper()
			if !starttls {
				conn, err := tls.Dial("tcp", c.Addr(), client)
				if err != nil {
					t.Fatal(err)
				}
				cl, err := smtp.NewClient(conn, "127.0.0.1")
				if err != nil {
					t.Fatal(err)
				}
				return cl
			}
			cl, err := smtp.Dial(c.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := cl.Extension("AUTH"); ok {
				t.Error("AUTH offered before STARTTLS")
			}
			if err := cl.Mail("a@x.example"); smtpCode(err) != 530 {
				t.Errorf("MAIL before STARTTLS: %v, want 530", err)
			}
			if err := cl.StartTLS(client); err != nil {
				t.Fatal(err)
			}
			return cl
		}
		cl := dial()
		if err := cl.Auth(smtp.PlainAuth("", SMTPUser, "wrong", "127.0.0.1")); err == nil {
			t.Error("AUTH with a wrong password accepted")
		}
		cl.Close() // net/smtp gives up the session after a failed AUTH
		cl = dial()
		if err := cl.Auth(smtp.PlainAuth("", SMTPUser, SMTPPassword, "127.0.0.1")); err != nil {
			t.Errorf("starttls=%v: AUTH: %v", starttls, err)
		}
		if err := sendOver(cl, "a@x.example", []string{"b@y.example"}, testMsg); err != nil {
			t.Errorf("starttls=%v: send: %v", starttls, err)
		}
		cl.Quit()
		if got := c.Logins(); len(got) != 1 || got[0] != SMTPUser || len(c.Mails()) != 1 {
			t.Errorf("starttls=%v: logins %v, %d mails", starttls, got, len(c.Mails()))
		}
	}
}
