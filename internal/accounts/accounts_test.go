package accounts_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

type fixture struct {
	svc   *accounts.Service
	clock *clock.Fake
	mail  *nodetest.Mailbox
	admin *accounts.User
	db    *db.DB
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	ob := &nodetest.Mailbox{}
	o := orgs.New(d, c)
	svc := accounts.New(accounts.Deps{DB: d, Orgs: o, Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mail: ob, Hasher: accounts.NewHasher(1024, 2), BaseURL: func(context.Context) string { return "https://acme.example" }})
	admin, err := svc.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: "https://acme.example", AllowedDomains: []string{"acme.example"},
		Admin: accounts.NewUser{Username: "alice", Email: "alice@acme.example", Password: "correct horse battery"}}, "127.0.0.1")
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return &fixture{svc: svc, clock: c, mail: ob, admin: admin, db: d}
}

func wantKind(t *testing.T, err error, k errs.Kind, contains string) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("want %v error, got %v", k, err)
	}
	if contains != "" && !strings.Contains(errs.Message(err), contains) {
		t.Fatalf("message %q does not mention %q", errs.Message(err), contains)
	}
}

func TestAccounts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		admin := accounts.UserActor(f.admin, "10.0.0.1")

		t.Run("setup runs once", func(t *testing.T) {
			_, err := f.svc.RunSetup(ctx, accounts.Setup{OrgName: "Evil", URL: "https://evil.example",
				Admin: accounts.NewUser{Username: "mallory", Email: "m@evil.example", Password: "0123456789ab"}}, "")
			wantKind(t, err, errs.Conflict, "set up already")
			if !f.admin.IsAdmin() {
				t.Fatal("first user is not admin")
			}
		})

		t.Run("create and duplicates", func(t *testing.T) {
			bob, err := f.svc.Create(ctx, admin, accounts.NewUser{Username: "bob", Email: "bob@acme.example", Password: "bob's long password"})
			if err != nil {
				t.Fatal(err)
			}
			if bob.Role != accounts.RoleMember {
				t.Fatalf("role %q", bob.Role)
			}
			_, err = f.svc.Create(ctx, admin, accounts.NewUser{Username: "BOB", Email: "other@acme.example", Password: "0123456789ab"})
			wantKind(t, err, errs.Conflict, "taken")
			_, err = f.svc.Create(ctx, admin, accounts.NewUser{Username: "bob2", Email: "Bob@Acme.example", Password: "0123456789ab"})
			wantKind(t, err, errs.Conflict, "exists already")
			_, err = f.svc.Create(ctx, admin, accounts.NewUser{Username: "bad name", Email: "x@acme.example", Password: "0123456789ab"})
			wantKind(t, err, errs.Invalid, "username")
			_, err = f.svc.Create(ctx, admin, accounts.NewUser{Username: "short", Email: "s@acme.example", Password: "short"})
			wantKind(t, err, errs.Invalid, "10 characters")
			_, err = f.svc.Create(ctx, accounts.UserActor(bob, ""), accounts.NewUser{Username: "eve", Email: "e@acme.example", Password: "0123456789ab"})
			wantKind(t, err, errs.Forbidden, "administrators")
		})

		t.Run("authenticate and sessions", func(t *testing.T) {
			u, err := f.svc.Authenticate(ctx, "ALICE", "correct horse battery", "1.1.1.1")
			if err != nil || u.ID != f.admin.ID {
				t.Fatalf("auth by name: %v", err)
			}
			if _, err := f.svc.Authenticate(ctx, "alice@acme.example", "correct horse battery", "1.1.1.1"); err != nil {
				t.Fatalf("auth by email: %v", err)
			}
			_, err = f.svc.Authenticate(ctx, "alice", "wrong", "1.1.1.1")
			wantKind(t, err, errs.Unauthorized, "do not match")
			_, err = f.svc.Authenticate(ctx, "nobody", "wrong", "1.1.1.1")
			wantKind(t, err, errs.Unauthorized, "do not match")
			tok, err := f.svc.CreateSession(ctx, u, "test", "1.1.1.1")
			if err != nil {
				t.Fatal(err)
			}
			if su, err := f.svc.SessionUser(ctx, tok); err != nil || su.ID != u.ID {
				t.Fatalf("session user: %v", err)
			}
			f.clock.Advance(accounts.SessionTTL + time.Minute)
			_, err = f.svc.SessionUser(ctx, tok)
			wantKind(t, err, errs.Unauthorized, "expired")
		})

		t.Run("login rate limit", func(t *testing.T) {
			var err error
			for i := 0; i < 11; i++ {
				_, err = f.svc.Authenticate(ctx, "ratelimited", "wrong", "2.2.2.2")
			}
			wantKind(t, err, errs.TooMany, "try again")
		})

		t.Run("deactivation ends sessions and tokens", func(t *testing.T) {
			carol, err := f.svc.Create(ctx, admin, accounts.NewUser{Username: "carol", Email: "carol@acme.example", Password: "carol's long password"})
			if err != nil {
				t.Fatal(err)
			}
			sess, _ := f.svc.CreateSession(ctx, carol, "", "")
			plain, _, err := f.svc.CreateToken(ctx, accounts.CLIActor(), carol.ID, "cli", "read write follow")
			if err != nil {
				t.Fatal(err)
			}
			if _, tk, err := f.svc.TokenUser(ctx, plain); err != nil || !accounts.HasScope(tk.Scopes, "read:statuses") || accounts.HasScope(tk.Scopes, "push") {
				t.Fatalf("token: %v", err)
			}
			if err := f.svc.SetActive(ctx, admin, carol.ID, false); err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.SessionUser(ctx, sess)
			wantKind(t, err, errs.Unauthorized, "")
			_, _, err = f.svc.TokenUser(ctx, plain)
			wantKind(t, err, errs.Unauthorized, "disabled")
			_, err = f.svc.Authenticate(ctx, "carol", "carol's long password", "3.3.3.3")
			wantKind(t, err, errs.Forbidden, "deactivated")
			if err := f.svc.SetActive(ctx, admin, carol.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.TokenUser(ctx, plain); err != nil {
				t.Fatalf("token after reactivation: %v", err)
			}
			err = f.svc.SetActive(ctx, admin, f.admin.ID, false)
			wantKind(t, err, errs.Invalid, "yourself")
			entries, err := audit.List(ctx, f.db, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range entries {
				actions = append(actions, e.Action)
			}
			got := strings.Join(actions, ",")
			if !strings.Contains(got, "user.deactivate") || !strings.Contains(got, "user.reactivate") || !strings.Contains(got, "node.setup") {
				t.Fatalf("audit log lacks actions: %s", got)
			}
		})

		t.Run("invitations", func(t *testing.T) {
			plain, _, err := f.svc.Invite(ctx, admin, "dave@partner.example", "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(f.mail.Last().Body, plain) {
				t.Fatal("invitation e-mail lacks the link")
			}
			_, err = f.svc.SignUp(ctx, plain, accounts.NewUser{Username: "dave", Email: "other@partner.example", Password: "dave's long password"})
			wantKind(t, err, errs.Invalid, "for dave@partner.example")
			dave, err := f.svc.SignUp(ctx, plain, accounts.NewUser{Username: "dave", Email: "dave@partner.example", Password: "dave's long password"})
			if err != nil {
				t.Fatal(err)
			}
			if dave.Role != accounts.RoleMember {
				t.Fatal("invited role")
			}
			_, err = f.svc.SignUp(ctx, plain, accounts.NewUser{Username: "dave2", Email: "dave@partner.example", Password: "dave's long password"})
			wantKind(t, err, errs.Invalid, "used already")
			// expired
			plain2, _, _ := f.svc.Invite(ctx, admin, "", accounts.RoleMember)
			f.clock.Advance(accounts.InvitationTTL + time.Hour)
			_, err = f.svc.SignUp(ctx, plain2, accounts.NewUser{Username: "erin", Email: "erin@else.example", Password: "erin's long password"})
			wantKind(t, err, errs.Invalid, "expired")
			_, err = f.svc.SignUp(ctx, "bogus", accounts.NewUser{Username: "erin", Email: "erin@else.example", Password: "erin's long password"})
			wantKind(t, err, errs.NotFound, "not valid")
			// allowed domain without invitation, other domain refused
			if _, err := f.svc.SignUp(ctx, "", accounts.NewUser{Username: "frank", Email: "frank@acme.example", Password: "frank's long password"}); err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.SignUp(ctx, "", accounts.NewUser{Username: "gina", Email: "gina@elsewhere.example", Password: "gina's long password"})
			wantKind(t, err, errs.Forbidden, "invitation")
		})

		t.Run("password reset", func(t *testing.T) {
			if err := f.svc.RequestReset(ctx, "nobody@acme.example", "4.4.4.4"); err != nil {
				t.Fatal(err)
			}
			n := len(f.mail.Msgs)
			if err := f.svc.RequestReset(ctx, "alice@acme.example", "4.4.4.4"); err != nil {
				t.Fatal(err)
			}
			if len(f.mail.Msgs) != n+1 {
				t.Fatal("no reset e-mail")
			}
			body := f.mail.Last().Body
			i := strings.Index(body, "token=")
			token := strings.Fields(body[i+6:])[0]
			if _, err := f.svc.ResetPassword(ctx, token, "a brand new password"); err != nil {
				t.Fatal(err)
			}
			_, err := f.svc.ResetPassword(ctx, token, "another new password")
			wantKind(t, err, errs.Invalid, "used already")
			if _, err := f.svc.Authenticate(ctx, "alice", "a brand new password", "5.5.5.5"); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("profiles, directory and org chart", func(t *testing.T) {
			bob, _ := f.svc.ByUsername(ctx, "bob")
			carol, _ := f.svc.ByUsername(ctx, "carol")
			bobActor := accounts.UserActor(bob, "")
			if _, err := f.svc.UpdateProfile(ctx, bobActor, bob.ID, accounts.Profile{DisplayName: "Bob Builder", JobTitle: "Site engineer",
				Department: "Engineering", ManagerUsername: "alice", Skills: []string{"Go, SQL", "go"}, TimeZone: "Europe/Berlin"}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.UpdateProfile(ctx, admin, carol.ID, accounts.Profile{DisplayName: "Carol", Department: "Engineering", ManagerUsername: "bob", Skills: []string{"Design"}}); err != nil {
				t.Fatal(err)
			}
			_, err := f.svc.UpdateProfile(ctx, bobActor, carol.ID, accounts.Profile{})
			wantKind(t, err, errs.Forbidden, "own profile")
			_, err = f.svc.UpdateProfile(ctx, admin, f.admin.ID, accounts.Profile{ManagerUsername: "carol"})
			wantKind(t, err, errs.Invalid, "loop")
			_, err = f.svc.UpdateProfile(ctx, bobActor, bob.ID, accounts.Profile{ManagerUsername: "ghost"})
			wantKind(t, err, errs.Invalid, "ghost")
			_, err = f.svc.UpdateProfile(ctx, bobActor, bob.ID, accounts.Profile{ManagerUsername: "bob"})
			wantKind(t, err, errs.Invalid, "own manager")
			_, err = f.svc.UpdateProfile(ctx, bobActor, bob.ID, accounts.Profile{TimeZone: "Mars/Olympus"})
			wantKind(t, err, errs.Invalid, "time zone")
			// The failed updates changed nothing.
			bob, _ = f.svc.Get(ctx, bob.ID)
			if bob.JobTitle != "Site engineer" || len(bob.Skills) != 2 {
				t.Fatalf("profile corrupted: %+v %v", bob.JobTitle, bob.Skills)
			}
			for _, c := range []struct {
				q    accounts.DirectoryQuery
				want string
			}{
				{accounts.DirectoryQuery{Q: "site engineer"}, "bob"},
				{accounts.DirectoryQuery{Q: "engineer"}, "bob,carol"},
				{accounts.DirectoryQuery{Skill: "sql"}, "bob"},
				{accounts.DirectoryQuery{Department: "engineering"}, "bob,carol"},
				{accounts.DirectoryQuery{Q: "bob builder"}, "bob"},
				{accounts.DirectoryQuery{Q: "zzz"}, ""},
			} {
				got, err := f.svc.Directory(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, u := range got {
					names = append(names, u.Username)
				}
				if strings.Join(names, ",") != c.want {
					t.Errorf("%+v: got %v want %s", c.q, names, c.want)
				}
			}
			oc, err := f.svc.Chart(ctx, bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(oc.Chain) != 1 || oc.Chain[0].Username != "alice" || len(oc.Reports) != 1 || oc.Reports[0].Username != "carol" {
				t.Fatalf("chart: chain %v reports %v", oc.Chain, oc.Reports)
			}
		})
	})
}

// The cache behind GetMany (timelines) must show this process's own changes at once.
func TestGetManySeesChangesAtOnce(t *testing.T) {
	f := setup(t, dbtest.Open(t, "sqlite"))
	ctx := context.Background()
	id := f.admin.ID
	if m, err := f.svc.GetMany(ctx, []string{id}); err != nil || m[id].DisplayName != "" {
		t.Fatalf("first load: %v %+v", err, m[id])
	}
	if _, err := f.svc.UpdateProfile(ctx, accounts.CLIActor(), id, accounts.Profile{DisplayName: "Alice A."}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.svc.GetMany(ctx, []string{id}); m[id].DisplayName != "Alice A." {
		t.Fatalf("timeline still shows the old name: %q", m[id].DisplayName)
	}
	if err := f.svc.SetActive(ctx, accounts.CLIActor(), id, false); err == nil {
		if m, _ := f.svc.GetMany(ctx, []string{id}); m[id].Active() {
			t.Fatal("timeline still shows a deactivated person as active")
		}
	}
}

// TokenUser caches valid tokens for a few seconds. This process's revocations, deactivations
// and role changes apply at once; another process's (simulated by writing the table
// directly) within the cache's TTL.
func TestTokenCacheSeesChanges(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		bob, err := f.svc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "bob", Email: "bob@acme.example", Password: "long password 1"})
		if err != nil {
			t.Fatal(err)
		}
		token := func(owner *accounts.User) (string, *accounts.Token) {
			plain, tok, err := f.svc.CreateToken(ctx, accounts.CLIActor(), owner.ID, "app", "read write")
			if err != nil {
				t.Fatal(err)
			}
			return plain, tok
		}
		works := func(plain string) *accounts.User {
			t.Helper()
			u, _, err := f.svc.TokenUser(ctx, plain)
			if err != nil {
				t.Fatalf("the token does not work: %v", err)
			}
			return u
		}
		refused := func(plain, why string) {
			t.Helper()
			if _, _, err := f.svc.TokenUser(ctx, plain); err == nil {
				t.Fatalf("the token still works %s", why)
			}
		}

		revoked, tok := token(bob)
		works(revoked)
		if err := f.svc.RevokeToken(ctx, accounts.CLIActor(), tok.ID); err != nil {
			t.Fatal(err)
		}
		refused(revoked, "after it was revoked")

		plain, _ := token(bob)
		if works(plain).IsAdmin() {
			t.Fatal("bob is not an admin yet")
		}
		if err := f.svc.SetRole(ctx, accounts.CLIActor(), bob.ID, accounts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		u := works(plain)
		if !u.IsAdmin() {
			t.Fatal("the token's user is not an admin after the role change")
		}
		u.Role = accounts.RoleMember // a caller's change must not reach the cache
		if !works(plain).IsAdmin() {
			t.Fatal("a caller's change reached the cache")
		}
		if err := f.svc.SetActive(ctx, accounts.CLIActor(), bob.ID, false); err != nil {
			t.Fatal(err)
		}
		refused(plain, "after its owner was deactivated")
		if err := f.svc.SetActive(ctx, accounts.CLIActor(), bob.ID, true); err != nil {
			t.Fatal(err)
		}
		works(plain)

		// Another process revokes the token: it works here until the TTL has passed.
		if _, err := d.NewUpdate().Model((*accounts.Token)(nil)).Set("revoked_at = ?", f.clock.Now()).
			Where("user_id = ?", bob.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(6 * time.Second)
		refused(plain, "6 s after another process revoked it")
	})
}
