package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
)

// adminCmd is one `atrium admin` subcommand: its flags and what it does with a node.
type adminCmd struct {
	help  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, n *app.Node, out io.Writer) error
}

func adminCommands() map[string]adminCmd {
	return map[string]adminCmd{
		"setup": {"first-run setup: organisation, public URL and first admin", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			org := fs.String("org-name", "", "organisation name (required)")
			user := fs.String("admin-username", "", "first admin's username (required)")
			email := fs.String("admin-email", "", "first admin's e-mail (required)")
			pw := fs.String("admin-password", "", "first admin's password, at least 10 characters; '-' reads it from stdin")
			domains := fs.String("allowed-domains", "", "comma-separated e-mail domains that may sign up without an invitation")
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				if err := required("org-name", *org, "admin-username", *user, "admin-email", *email, "admin-password", *pw); err != nil {
					return err
				}
				p, err := readSecret(*pw)
				if err != nil {
					return err
				}
				u, err := n.Accounts.RunSetup(ctx, accounts.Setup{OrgName: *org, URL: n.URL(ctx), AllowedDomains: orgs.SplitDomains(*domains),
					Admin: accounts.NewUser{Username: *user, Email: *email, Password: p}}, "cli")
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "set up %q at %s; admin %s can sign in at %s/login\n", *org, n.URL(ctx), u.Username, n.URL(ctx))
				return nil
			}
		}},
		"create-user": {"create an account", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			user := fs.String("username", "", "username (required)")
			email := fs.String("email", "", "e-mail (required)")
			pw := fs.String("password", "", "password, at least 10 characters; '-' reads it from stdin (required)")
			name := fs.String("display-name", "", "display name")
			isAdmin := fs.Bool("admin", false, "make the person an administrator")
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				if err := required("username", *user, "email", *email, "password", *pw); err != nil {
					return err
				}
				p, err := readSecret(*pw)
				if err != nil {
					return err
				}
				role := accounts.RoleMember
				if *isAdmin {
					role = accounts.RoleAdmin
				}
				u, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: *user, Email: *email, Password: p, DisplayName: *name, Role: role})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "created %s (%s, id %s)\n", u.Username, u.Role, u.ID)
				return nil
			}
		}},
		"token": {"print a new personal access token for the JSON API", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			user := fs.String("username", "", "whose token (required)")
			scopes := fs.String("scopes", "read write follow", "space-separated scopes")
			name := fs.String("name", "cli", "a name to recognise the token by")
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				if err := required("username", *user); err != nil {
					return err
				}
				u, err := n.Accounts.ByUsername(ctx, *user)
				if err != nil {
					return err
				}
				plain, _, err := n.Accounts.CreateToken(ctx, accounts.CLIActor(), u.ID, *name, *scopes)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, plain)
				return nil
			}
		}},
		"set-role": {"make a person admin or member", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			user := fs.String("username", "", "whose role (required)")
			role := fs.String("role", "", "admin or member (required)")
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				if err := required("username", *user, "role", *role); err != nil {
					return err
				}
				u, err := n.Accounts.ByUsername(ctx, *user)
				if err != nil {
					return err
				}
				if err := n.Accounts.SetRole(ctx, accounts.CLIActor(), u.ID, *role); err != nil {
					return err
				}
				fmt.Fprintf(out, "%s is now %s\n", u.Username, *role)
				return nil
			}
		}},
		"deactivate": {"stop a person from signing in (sessions and tokens end at once)", activation(false)},
		"reactivate": {"let a deactivated person sign in again", activation(true)},
		"invite": {"print an invitation link", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			email := fs.String("email", "", "only this address may use the link (and it is e-mailed there)")
			role := fs.String("role", "member", "admin or member")
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				plain, inv, err := n.Accounts.Invite(ctx, accounts.CLIActor(), *email, *role)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s/signup?invite=%s\n(valid until %s)\n", n.URL(ctx), plain, inv.ExpiresAt.Format("2006-01-02 15:04 MST"))
				return nil
			}
		}},
	}
}

func activation(active bool) func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
	return func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
		user := fs.String("username", "", "who (required)")
		return func(ctx context.Context, n *app.Node, out io.Writer) error {
			if err := required("username", *user); err != nil {
				return err
			}
			u, err := n.Accounts.ByUsername(ctx, *user)
			if err != nil {
				return err
			}
			if err := n.Accounts.SetActive(ctx, accounts.CLIActor(), u.ID, active); err != nil {
				return err
			}
			state := "deactivated"
			if active {
				state = "reactivated"
			}
			fmt.Fprintf(out, "%s %s\n", u.Username, state)
			return nil
		}
	}
}

func admin(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmds := adminCommands()
	if len(args) == 0 || cmds[args[0]].flags == nil {
		fmt.Fprintln(stderr, "Usage: atrium admin <command> [flags]\n\nCommands:")
		for _, name := range []string{"setup", "create-user", "token", "set-role", "deactivate", "reactivate", "invite"} {
			fmt.Fprintf(stderr, "  %-12s %s\n", name, cmds[name].help)
		}
		if len(args) == 0 {
			return fmt.Errorf("admin: name a command")
		}
		return fmt.Errorf("admin: unknown command %q", args[0])
	}
	var do func(context.Context, *app.Node, io.Writer) error
	cfg, _, err := loadConfig("admin "+args[0], args[1:], stderr, getenv, func(fs *flag.FlagSet) { do = cmds[args[0]].flags(fs) })
	if err != nil {
		return err
	}
	quiet := cfg
	quiet.LogLevel = "warn"
	n, err := app.New(ctx, cfg, app.Options{Log: newLogger(quiet, stderr)})
	if err != nil {
		return err
	}
	defer n.Close()
	if err := do(ctx, n, stdout); err != nil {
		if errs.KindOf(err) != errs.Internal {
			return fmt.Errorf("admin %s: %s", args[0], errs.Message(err))
		}
		return err
	}
	return nil
}

// required names the first empty flag, in the order given: name, value, name, value...
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return fmt.Errorf("--%s is required", pairs[i])
		}
	}
	return nil
}

// readSecret lets passwords come from stdin ('-') so they stay out of shell history.
func readSecret(v string) (string, error) {
	if v != "-" {
		return v, nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
