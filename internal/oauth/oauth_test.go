package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

type fixture struct {
	acc   *accounts.Service
	svc   *oauth.Service
	clock *clock.Fake
	alice *accounts.User
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	c := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	acc := accounts.New(accounts.Deps{DB: d, Orgs: orgs.New(d, c), Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hasher: accounts.NewHasher(1024, 2), BaseURL: func(context.Context) string { return "https://acme.example" }})
	alice, err := acc.RunSetup(context.Background(), accounts.Setup{OrgName: "Acme", URL: "https://acme.example",
		Admin: accounts.NewUser{Username: "alice", Email: "alice@acme.example", Password: "correct horse battery"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{acc: acc, svc: oauth.New(oauth.Deps{DB: d, Clock: c, Accounts: acc}), clock: c, alice: alice}
}

func challenge(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func wantCode(t *testing.T, err error, code oauth.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	if got := oauth.CodeOf(err); got != code {
		t.Fatalf("want %s, got %s (%v)", code, got, err)
	}
}

func TestService(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		app, secret, err := f.svc.RegisterApp(ctx, oauth.NewApp{Name: "Phone", RedirectURIs: []string{"https://app.example/cb\nurn:ietf:wg:oauth:2.0:oob"},
			Scopes: "read write follow"})
		if err != nil {
			t.Fatal(err)
		}
		if len(app.RedirectList()) != 2 || app.SecretHash == secret || len(secret) != 43 || len(app.ClientID) != 43 {
			t.Fatalf("app stored wrongly: %+v", app)
		}
		for _, bad := range []oauth.NewApp{{Name: "", RedirectURIs: []string{"https://a.example/"}},
			{Name: "x", RedirectURIs: []string{"/relative"}}, {Name: "x", RedirectURIs: []string{"https://a.example/#frag"}},
			{Name: "x", RedirectURIs: []string{"https://a.example/"}, Scopes: "read bogus"}, {Name: "x"}} {
			if _, _, err := f.svc.RegisterApp(ctx, bad); err == nil {
				t.Errorf("registered %+v", bad)
			}
		}

		// Exact redirect matching: a suffix or prefix of a registered URI is not it.
		for _, r := range []string{"https://app.example/cb/x", "https://evilapp.example/cb", "https://app.example/CB", "urn:ietf:wg:oauth:2.0:oob:auto"} {
			_, err := f.svc.CheckAuthorize(ctx, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: r})
			wantCode(t, err, oauth.InvalidRequest)
		}
		_, err = f.svc.CheckAuthorize(ctx, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: "https://app.example/cb", Scope: "admin:read"})
		wantCode(t, err, oauth.InvalidScope)
		_, err = f.svc.CheckAuthorize(ctx, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: "https://app.example/cb",
			CodeChallenge: challenge("v"), CodeChallengeMethod: "plain"})
		wantCode(t, err, oauth.InvalidRequest)
		// "follow" and "read" cover their granular forms.
		g, err := f.svc.CheckAuthorize(ctx, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: "https://app.example/cb",
			Scope: "read:statuses write:blocks"})
		if err != nil || g.Scopes != "read:statuses write:blocks" {
			t.Fatalf("granular scopes: %v %+v", err, g)
		}

		verifier := "a-verifier-that-is-long-enough-for-rfc-7636-0123456789"
		req := oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: "https://app.example/cb", Scope: "read follow",
			CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256"}
		code, _, err := f.svc.Approve(ctx, f.alice, req)
		if err != nil {
			t.Fatal(err)
		}
		tr := oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret, Code: code,
			RedirectURI: "https://app.example/cb", CodeVerifier: verifier}
		bad := tr
		bad.ClientSecret = ""
		_, err = f.svc.Token(ctx, bad)
		wantCode(t, err, oauth.InvalidClient) // an empty secret never passes
		bad = tr
		bad.CodeVerifier = "wrong"
		_, err = f.svc.Token(ctx, bad)
		wantCode(t, err, oauth.InvalidGrant)
		tok, err := f.svc.Token(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		if tok.TokenType != "Bearer" || tok.Scope != "read follow" || tok.RefreshToken == "" {
			t.Fatalf("token: %+v", tok)
		}
		u, at, err := f.acc.TokenUser(ctx, tok.AccessToken)
		if err != nil || u.ID != f.alice.ID || at.AppID != app.ID {
			t.Fatalf("token user: %v %v %+v", err, u, at)
		}
		if !accounts.HasScope(at.Scopes, "write:mutes") || accounts.HasScope(at.Scopes, "write:statuses") {
			t.Fatalf("follow should cover write:mutes and nothing else: %s", at.Scopes)
		}
		// Personal tokens and app tokens are listed apart.
		if list, _ := f.acc.Tokens(ctx, f.alice.ID); len(list) != 0 {
			t.Fatalf("app token listed as personal: %+v", list)
		}
		apps, err := f.svc.AuthorisedApps(ctx, f.alice.ID)
		if err != nil || len(apps) != 1 || apps[0].App.Name != "Phone" || len(apps[0].Scopes) != 2 {
			t.Fatalf("authorised apps: %v %+v", err, apps)
		}

		// Replaying the code fails and revokes the token it became.
		_, err = f.svc.Token(ctx, tr)
		wantCode(t, err, oauth.InvalidGrant)
		if _, _, err := f.acc.TokenUser(ctx, tok.AccessToken); err == nil {
			t.Fatal("token survived its code's replay")
		}

		// An expired code is refused.
		code, _, err = f.svc.Approve(ctx, f.alice, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: oauth.OOB})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(oauth.CodeTTL + time.Second)
		_, err = f.svc.Token(ctx, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret,
			Code: code, RedirectURI: oauth.OOB})
		wantCode(t, err, oauth.InvalidGrant)

		// Refresh rotates; revocation by the app and by the person.
		code, _, _ = f.svc.Approve(ctx, f.alice, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: oauth.OOB, Scope: "read write"})
		t1, err := f.svc.Token(ctx, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret,
			Code: code, RedirectURI: oauth.OOB})
		if err != nil {
			t.Fatal(err)
		}
		t2, err := f.svc.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, ClientSecret: secret,
			RefreshToken: t1.RefreshToken, Scope: "read"})
		if err != nil || t2.Scope != "read" {
			t.Fatalf("refresh: %v %+v", err, t2)
		}
		if _, _, err := f.acc.TokenUser(ctx, t1.AccessToken); err == nil {
			t.Fatal("the refreshed token still works")
		}
		if err := f.svc.Revoke(ctx, app.ClientID, secret, t2.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.acc.TokenUser(ctx, t2.AccessToken); err == nil {
			t.Fatal("revoked token still works")
		}

		// client_credentials: an app token that acts for nobody.
		ct, err := f.svc.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		u, at, err = f.acc.TokenUser(ctx, ct.AccessToken)
		if err != nil || u != nil || at.AppID != app.ID {
			t.Fatalf("app token: %v %v %+v", err, u, at)
		}
		_, err = f.svc.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: secret, Scope: "push"})
		wantCode(t, err, oauth.InvalidScope)
		_, err = f.svc.Token(ctx, oauth.TokenRequest{GrantType: "password", ClientID: app.ClientID, ClientSecret: secret})
		wantCode(t, err, oauth.UnsupportedGrantType)

		// Settings → revoke removes every token of the app for that person.
		for range 2 {
			code, _, _ = f.svc.Approve(ctx, f.alice, oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: oauth.OOB})
			if _, err := f.svc.Token(ctx, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret,
				Code: code, RedirectURI: oauth.OOB}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.RevokeApp(ctx, accounts.UserActor(f.alice, ""), app.ID); err != nil {
			t.Fatal(err)
		}
		if apps, _ := f.svc.AuthorisedApps(ctx, f.alice.ID); len(apps) != 0 {
			t.Fatalf("apps after revoke: %+v", apps)
		}
		if err := f.svc.RevokeApp(ctx, accounts.UserActor(f.alice, ""), app.ID); err == nil {
			t.Fatal("revoking twice should say there is nothing to revoke")
		}
	})
}

// TestOnlyAdminsGrantAdminScopes: a person cannot hand an app rights they do not hold.
func TestOnlyAdminsGrantAdminScopes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		bob, err := f.acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "bob", Email: "bob@acme.example", Password: "bob's long password"})
		if err != nil {
			t.Fatal(err)
		}
		app, _, err := f.svc.RegisterApp(ctx, oauth.NewApp{Name: "Moderator tool", RedirectURIs: []string{oauth.OOB}, Scopes: "read admin:read"})
		if err != nil {
			t.Fatal(err)
		}
		req := oauth.AuthRequest{ResponseType: "code", ClientID: app.ClientID, RedirectURI: oauth.OOB, Scope: "read admin:read"}
		_, _, err = f.svc.Approve(ctx, bob, req)
		wantCode(t, err, oauth.AccessDenied)
		if !strings.Contains(errs.Message(err), "only administrators") {
			t.Errorf("message %q", errs.Message(err))
		}
		if _, _, err := f.svc.Approve(ctx, f.alice, req); err != nil {
			t.Fatalf("the administrator could not approve: %v", err)
		}
		req.Scope = "read"
		if _, _, err := f.svc.Approve(ctx, bob, req); err != nil {
			t.Fatalf("bob could not approve read: %v", err)
		}
	})
}
