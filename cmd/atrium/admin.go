package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
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
	for name, c := range partnerCommands() {
		cmds[name] = c
	}
	// Two-word commands ("partner add") are looked up by both words.
	if len(args) >= 2 && args[0] == "partner" && !strings.HasPrefix(args[1], "-") {
		args = append([]string{"partner " + args[1]}, args[2:]...)
	}
	if len(args) == 0 || cmds[args[0]].flags == nil {
		fmt.Fprintln(stderr, "Usage: atrium admin <command> [flags]\n\nCommands:")
		for _, name := range []string{"setup", "create-user", "token", "set-role", "deactivate", "reactivate", "invite",
			"partner add", "partner block", "partner remove", "partner list"} {
			fmt.Fprintf(stderr, "  %-16s %s\n", name, cmds[name].help)
		}
		if len(args) == 0 {
			return fmt.Errorf("admin: name a command")
		}
		if args[0] == "partner" {
			return fmt.Errorf("admin partner: name add, block, remove or list")
		}
		return fmt.Errorf("admin: unknown command %q", args[0])
	}
	var do func(context.Context, *app.Node, io.Writer) error
	declare := cmds[args[0]].flags
	cfg, _, err := loadConfig("admin "+args[0], flagsFirst(args[1:], declare), stderr, getenv,
		func(fs *flag.FlagSet) { do = declare(fs) })
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

// partnerCommands are `atrium admin partner add|block|remove|list`: the partner policy that
// decides which nodes this one federates with (FEDERATION.md; --federation-mode).
func partnerCommands() map[string]adminCmd {
	change := func(verb string) func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
		return func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			note := new(string)
			if verb != "remove" {
				note = fs.String("note", "", "why, for the other administrators (one line, at most 500 characters)")
			}
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				host, err := oneHost(fs)
				if err != nil {
					return err
				}
				ps := partners(n)
				switch verb {
				case "add":
					p, err := ps.Add(ctx, orgs.CLIActor(), host, *note)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s is an allowed partner; its administrators can read what this node sends it\n", p.Host)
					if ps.Mode() == orgs.ModeOpen {
						fmt.Fprintln(out, "(federation mode is open: every host that is not blocked federates anyway)")
					}
				case "block":
					p, err := ps.Block(ctx, orgs.CLIActor(), host, *note)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s is blocked\n", p.Host)
				case "remove":
					if err := ps.Remove(ctx, orgs.CLIActor(), host); err != nil {
						return err
					}
					h, _ := orgs.NormalizeHost(host)
					fmt.Fprintf(out, "%s removed from the partner list\n", h)
				}
				// This process is not the server: the running node rereads the policy within
				// seconds (its cache's lifetime), not at once as after a change on the web page.
				fmt.Fprintln(out, "running nodes apply the change within 5 seconds")
				return nil
			}
		}
	}
	return map[string]adminCmd{
		"partner add":    {"allow a partner host: partner add HOST [--note ...]", change("add")},
		"partner block":  {"block a host, in both federation modes: partner block HOST [--note ...]", change("block")},
		"partner remove": {"take a host off the partner list: partner remove HOST", change("remove")},
		"partner list": {"show the federation mode and the partner list", func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error {
			return func(ctx context.Context, n *app.Node, out io.Writer) error {
				if fs.NArg() > 0 {
					return fmt.Errorf("partner list takes no arguments, got %q", fs.Arg(0))
				}
				ps := partners(n)
				list, err := ps.List(ctx)
				if err != nil {
					return err
				}
				if ps.Mode() == orgs.ModeOpen {
					fmt.Fprintln(out, "federation mode: open (every host federates unless blocked)")
				} else {
					fmt.Fprintln(out, "federation mode: allowlist (only allowed hosts federate)")
				}
				if len(list) == 0 {
					fmt.Fprintln(out, "no partners yet; add one with: atrium admin partner add HOST")
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "HOST\tSTATE\tNOTE\tADDED")
				for _, p := range list {
					note := p.Note
					if note == "" {
						note = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Host, p.State, note, p.CreatedAt.UTC().Format("2006-01-02"))
				}
				return tw.Flush()
			}
		}},
	}
}

// partners is the node's partner policy for one command. The command runs in its own short
// process, so a service of its own (rather than one shared with a server) loses nothing.
func partners(n *app.Node) *orgs.Partners {
	return orgs.NewPartners(n.DB, n.Clock, n.Cfg.FederationMode, n.URL)
}

// oneHost is the command's single HOST argument.
func oneHost(fs *flag.FlagSet) (string, error) {
	switch fs.NArg() {
	case 0:
		return "", fmt.Errorf("name the host, e.g. partner.example")
	case 1:
		return fs.Arg(0), nil
	}
	return "", fmt.Errorf("name one host, got %d arguments: %s", fs.NArg(), strings.Join(fs.Args(), " "))
}

// flagsFirst moves positional arguments after the flags, so `partner add HOST --note x` works
// although the flag package stops at the first non-flag. declare adds the command's own flags
// to a scratch set, which tells flags that take a value from boolean ones.
func flagsFirst(args []string, declare func(fs *flag.FlagSet) func(context.Context, *app.Node, io.Writer) error) []string {
	fs := flag.NewFlagSet("scratch", flag.ContinueOnError)
	cfg := config.Default()
	cfg.Register(fs)
	declare(fs)
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // unknown flags are left for the real parse to report
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}
