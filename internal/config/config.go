// Package config holds the node's one Config struct: defaults, command-line flags with an
// ATRIUM_* environment twin for each, and validation that stops start-up with one clear line
// naming the setting at fault. Every subcommand reads the same settings through Load.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything a node needs to start.
type Config struct {
	Listen            string         // address the HTTP server binds
	URL               string         // public base URL (scheme://host[:port]); the node's identity
	DataDir           string         // where SQLite, media and keys live
	DB                string         // "" or a path/sqlite: DSN for SQLite; postgres://... for PostgreSQL
	LogLevel          string         // debug, info, warn, error
	LogFormat         string         // text or json
	SMTPHost          string         // empty: e-mails are written to the log instead
	SMTPPort          int            // 587 by default (STARTTLS)
	SMTPUser          string         // optional
	SMTPPassword      string         // optional
	SMTPFrom          string         // sender address
	AllowInsecureHTTP bool           // peers over plain http (test networks only)
	AllowPrivateNets  []netip.Prefix // CIDRs outbound requests may reach (test networks only)
	FederationMode    string         // allowlist or open
	MaxUploadBytes    int64          // largest accepted upload
	ShutdownTimeout   time.Duration  // how long SIGTERM waits for requests to finish

	// Argon2MemoryKiB sets the password hash memory; tests lower it to stay fast.
	Argon2MemoryKiB uint32
	// urlFromFlag records whether URL was given explicitly (flag or env), so a stored
	// identity is not silently overridden by the default.
	urlFromFlag bool
}

// URLExplicit reports whether the public URL came from a flag or environment variable.
func (c *Config) URLExplicit() bool { return c.urlFromFlag }

// SetURLExplicit marks URL as explicitly chosen (used by tests and devnet).
func (c *Config) SetURLExplicit(u string) { c.URL = u; c.urlFromFlag = true }

// Default returns the settings `go run ./cmd/atrium` starts with.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		DataDir:         "./atrium-data",
		LogLevel:        "info",
		LogFormat:       "text",
		SMTPPort:        587,
		SMTPFrom:        "atrium@localhost",
		FederationMode:  "allowlist",
		MaxUploadBytes:  8 << 20,
		ShutdownTimeout: 10 * time.Second,
		Argon2MemoryKiB: 64 * 1024,
	}
}

// flagDoc describes one setting once, so flag, env twin and help text never drift apart.
type flagDoc struct {
	name  string
	usage string
}

// EnvName is the ATRIUM_* twin of a flag name: data-dir -> ATRIUM_DATA_DIR.
func EnvName(flagName string) string {
	return "ATRIUM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Register declares every setting on fs, with the env twin named in the help text.
func (c *Config) Register(fs *flag.FlagSet) {
	str := func(p *string, d flagDoc) {
		fs.StringVar(p, d.name, *p, d.usage+" ("+EnvName(d.name)+")")
	}
	str(&c.Listen, flagDoc{"listen", "address to listen on, host:port"})
	str(&c.URL, flagDoc{"url", "public base URL, scheme://host[:port]; becomes the node's identity (default: derived from --listen, or the URL chosen at setup)"})
	str(&c.DataDir, flagDoc{"data-dir", "directory for the SQLite database, media and keys"})
	str(&c.DB, flagDoc{"db", "database: empty for SQLite in the data dir, a file path, or postgres://user:pass@host/db?sslmode=..."})
	str(&c.LogLevel, flagDoc{"log-level", "log level: debug, info, warn, error"})
	str(&c.LogFormat, flagDoc{"log-format", "log format: text or json"})
	str(&c.SMTPHost, flagDoc{"smtp-host", "SMTP server host; empty writes e-mails (e.g. reset links) to the log"})
	fs.IntVar(&c.SMTPPort, "smtp-port", c.SMTPPort, "SMTP server port ("+EnvName("smtp-port")+")")
	str(&c.SMTPUser, flagDoc{"smtp-user", "SMTP user name"})
	str(&c.SMTPPassword, flagDoc{"smtp-password", "SMTP password"})
	str(&c.SMTPFrom, flagDoc{"smtp-from", "sender address of the node's e-mails"})
	fs.BoolVar(&c.AllowInsecureHTTP, "allow-insecure-http", c.AllowInsecureHTTP, "allow peers over plain http (test networks only) ("+EnvName("allow-insecure-http")+")")
	fs.Func("allow-private-networks", "comma-separated CIDRs that outbound requests may reach, e.g. 127.0.0.0/8 (test networks only) ("+EnvName("allow-private-networks")+")", func(v string) error {
		p, err := ParseCIDRs(v)
		if err != nil {
			return err
		}
		c.AllowPrivateNets = p
		return nil
	})
	str(&c.FederationMode, flagDoc{"federation-mode", "federation policy: allowlist (only partner hosts an admin added) or open"})
	fs.Func("max-upload", "largest accepted upload, e.g. 8MiB ("+EnvName("max-upload")+")", func(v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		c.MaxUploadBytes = n
		return nil
	})
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long shutdown waits for requests in flight ("+EnvName("shutdown-timeout")+")")
}

// Load parses args into a config built from defaults, then fills every flag not given on the
// command line from its ATRIUM_* twin, then validates.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := Default()
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.finish(fs, getenv)
}

func (c *Config) finish(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		if v, ok := lookup(getenv, EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				firstErr = fmt.Errorf("%s=%q: %v", EnvName(f.Name), v, err)
			}
			set[f.Name] = true
		}
	})
	if firstErr != nil {
		return firstErr
	}
	c.urlFromFlag = set["url"]
	return c.Validate()
}

func lookup(getenv func(string) string, key string) (string, bool) {
	if getenv == nil {
		return os.LookupEnv(key)
	}
	v := getenv(key)
	return v, v != ""
}

// Validate checks every setting and names the first one at fault and what is wrong with it.
func (c *Config) Validate() error {
	bad := func(flagName, format string, args ...any) error {
		return fmt.Errorf("--%s (%s): %s", flagName, EnvName(flagName), fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%q is not host:port (for example 127.0.0.1:8080)", c.Listen)
	}
	if c.URL != "" {
		u, err := NormalizeURL(c.URL)
		if err != nil {
			return bad("url", "%v", err)
		}
		c.URL = u
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return bad("data-dir", "must not be empty")
	}
	if c.DB != "" && !IsPostgres(c.DB) && strings.Contains(c.DB, "://") {
		return bad("db", "%q: use a file path for SQLite or a postgres:// URL", redact(c.DB))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return bad("log-level", "%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if c.SMTPPort <= 0 || c.SMTPPort > 65535 {
		return bad("smtp-port", "%d is not a port number", c.SMTPPort)
	}
	if c.SMTPHost != "" && !strings.Contains(c.SMTPFrom, "@") {
		return bad("smtp-from", "%q is not an e-mail address", c.SMTPFrom)
	}
	if c.FederationMode != "allowlist" && c.FederationMode != "open" {
		return bad("federation-mode", "%q is not allowlist or open", c.FederationMode)
	}
	if c.MaxUploadBytes < 1<<10 || c.MaxUploadBytes > 1<<30 {
		return bad("max-upload", "%d bytes is outside 1KiB..1GiB", c.MaxUploadBytes)
	}
	if c.ShutdownTimeout < 0 {
		return bad("shutdown-timeout", "must not be negative")
	}
	return nil
}

// NormalizeURL checks a public base URL (scheme://host[:port], no path) and returns it in
// canonical form: lower-case scheme and host, no trailing slash.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL like https://social.example.com", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q must start with https:// (or http:// on a test network)", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must be only scheme://host[:port], without path, query or user", raw)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// Host is the host[:port] of a public base URL such as https://acme.example: the domain
// part of people's addresses (user@host).
func Host(baseURL string) string {
	if i := strings.Index(baseURL, "://"); i >= 0 {
		return baseURL[i+3:]
	}
	return baseURL
}

// DefaultURL is the public URL derived from the listen address when none was chosen.
func (c *Config) DefaultURL() string {
	host, port, _ := net.SplitHostPort(c.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" {
		host = "localhost"
	}
	if port == "80" {
		return "http://" + host
	}
	return "http://" + net.JoinHostPort(host, port)
}

// IsPostgres reports whether the DSN selects PostgreSQL.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLitePath is the database file for SQLite DSNs.
func (c *Config) SQLitePath() string {
	if c.DB == "" {
		return filepath.Join(c.DataDir, "atrium.db")
	}
	return strings.TrimPrefix(strings.TrimPrefix(c.DB, "sqlite:"), "file:")
}

// redact hides a password in a DSN before it goes into an error message.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ParseLevel maps a level name to slog.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// ParseCIDRs parses a comma-separated CIDR list; a bare address means just that host.
func ParseCIDRs(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR like 127.0.0.0/8", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 127.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParseSize reads sizes such as 512KiB, 8MiB, 1GB or a plain byte count.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(strings.ToLower(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a size like 8MiB")
	}
	return n * mult, nil
}
