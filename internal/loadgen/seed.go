package loadgen

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/uptrace/bun/schema"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/migrations"
)

// SeedPassword is every seeded person's password.
const SeedPassword = "seed password 1"

// SeedOptions size and shape the generated company.
type SeedOptions struct {
	Users   int   // people: user00001, user00002, ...
	Posts   int   // top-level posts, spread over Days
	Follows int   // distinct people each person follows (popularity is skewed)
	Days    int   // posts fall in the Days before Now
	Seed    int64 // the same seed gives the same people, graph and posts
	Tokens  int   // personal access tokens ("read write") for the first Tokens people (at most Users)

	// Groups hosted here (half open, a third closed, the rest secret); each person is a
	// member of GroupMemberships of them (popularity is skewed, as for follows), and
	// GroupPostPercent of the posts are group posts by a member, which reach the members'
	// home feeds instead of the author's followers'. Zero Groups seeds none.
	Groups, GroupMemberships, GroupPostPercent int

	// BaseURL is the node's public URL, for post URIs and hashtag links.
	BaseURL string
	// Now ends the posting period; zero means the current time.
	Now time.Time
	// PasswordHash is stored for everyone; "" hashes SeedPassword once with
	// accounts.NewHasher(Argon2MemoryKiB) (64 MiB when zero).
	PasswordHash    string
	Argon2MemoryKiB uint32
	// Force seeds a database that already has posts (new people are numbered after the
	// existing userNNNNN); without it such a database is refused.
	Force bool
	// BatchRows rows go in one INSERT statement (500), TxRows in one transaction (50,000).
	BatchRows, TxRows int
	// Progress receives a line a second per phase and the phase timings; nil is quiet.
	Progress io.Writer
}

// Phase is the time one step of the seed took.
type Phase struct {
	Name string
	Rows int64
	Took time.Duration
}

// SeedResult describes what Seed wrote.
type SeedResult struct {
	Users, Follows, Posts, Tags, FeedRows int64
	Groups, Memberships, GroupPosts       int64

	UserIDs   []string // in username order
	Usernames []string
	Tokens    []string // plain tokens of the first Tokens people, in order
	Phases    []Phase
	Took      time.Duration
}

func (o *SeedOptions) check() error {
	if o.Users < 2 {
		return errors.New("seed: --users must be at least 2")
	}
	if o.Follows < 0 || o.Follows >= o.Users {
		return fmt.Errorf("seed: --follows must be between 0 and %d (users - 1)", o.Users-1)
	}
	if o.Posts < 0 {
		return errors.New("seed: --posts must not be negative")
	}
	if o.Days < 1 {
		return errors.New("seed: --days must be at least 1")
	}
	if o.Tokens < 0 {
		return errors.New("seed: --tokens must not be negative")
	}
	o.Tokens = min(o.Tokens, o.Users)
	if o.Groups < 0 || o.GroupMemberships < 0 || o.GroupMemberships > o.Groups {
		return fmt.Errorf("seed: --groups must not be negative and --group-memberships must be between 0 and --groups (%d)", o.Groups)
	}
	if o.GroupPostPercent < 0 || o.GroupPostPercent > 100 {
		return errors.New("seed: --group-posts is a percentage, between 0 and 100")
	}
	if o.GroupPostPercent > 0 && o.GroupMemberships == 0 {
		return errors.New("seed: --group-posts needs people in groups (--groups and --group-memberships)")
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 500
	}
	if o.TxRows <= 0 {
		o.TxRows = 50_000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	if o.BaseURL == "" {
		o.BaseURL = "http://localhost:8080"
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Argon2MemoryKiB == 0 {
		o.Argon2MemoryKiB = 64 * 1024
	}
	return nil
}

// seeder holds the generated company while it is written.
type seeder struct {
	o     SeedOptions
	d     *db.DB
	dia   schema.Dialect
	conn  *sql.Conn
	rng   *rand.Rand
	ent   io.Reader // deterministic ULID entropy
	first int       // number of the first new person (user00001 unless --force found others)
	start time.Time // beginning of the posting period

	userIDs   []string
	usernames []string
	userIDq   [][]byte // user ids as SQL literals
	followees []int32  // Users*Follows: followees of person i at [i*F, (i+1)*F), ascending
	memberOf  []int32  // Users*GroupMemberships: groups of person i at [i*M, (i+1)*M), ascending
	groupIDq  [][]byte // group ids as SQL literals

	postIDs    []ulid.ULID
	postAuthor []int32
	postGroup  []int32 // the group of each post, -1 for posts outside groups
	postTags   []int32 // pairs: post index, pool index (posts with hashtags)
	pool       []poolText

	res SeedResult
}

// poolText is one post body rendered by the real markup renderer, kept as SQL literals.
type poolText struct {
	source, html, text []byte
	tags               [][]byte
}

// Seed writes a generated company into a migrated database d and returns what it wrote.
// Its home feeds are what fan-out on write followed by posts.Service.TrimFeeds would have
// left: for each person, the newest posts.FeedKeep posts of the people they follow and
// their own.
func Seed(ctx context.Context, d *db.DB, o SeedOptions) (*SeedResult, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	began := time.Now()
	s := &seeder{o: o, d: d, dia: d.Dialect()}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(o.Seed))
	s.rng = rand.New(rand.NewChaCha8(key))
	key[8] = 1
	s.ent = ulid.Monotonic(rand.NewChaCha8(key), 0)
	s.start = o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour)

	has, err := d.NewSelect().Table("posts").Limit(1).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: is the database migrated? %w", err)
	}
	if has && !o.Force {
		return nil, errors.New("seed: the database already has posts; seed a fresh --data-dir, or add --force to seed on top")
	}
	if s.first, err = s.firstNumber(ctx); err != nil {
		return nil, err
	}
	if s.o.PasswordHash == "" {
		if s.o.PasswordHash, err = accounts.NewHasher(o.Argon2MemoryKiB, 1).Hash(ctx, SeedPassword); err != nil {
			return nil, err
		}
	}
	if err := s.buildPool(); err != nil {
		return nil, err
	}

	conn, err := d.DB.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s.conn = conn
	restore, err := s.tune(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	err = s.run(ctx)
	restore()
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("seed: %w (the database holds a partial seed: start again in a fresh --data-dir)", err)
	}
	if err := s.tokens(ctx); err != nil {
		return nil, err
	}
	if err := s.finish(ctx); err != nil {
		return nil, err
	}
	s.res.Took = time.Since(began)
	s.res.UserIDs, s.res.Usernames = s.userIDs, s.usernames
	return &s.res, nil
}

func (s *seeder) run(ctx context.Context) error {
	for _, step := range []func(context.Context) error{s.users, s.follows, s.groups, s.posts, s.tags, s.feeds} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// tune makes the seeding connection fast: no fsync per commit (SQLite synchronous=OFF,
// PostgreSQL synchronous_commit=off) and a large page cache for the random-order index
// inserts. The returned function puts the connection back as the pool expects it.
func (s *seeder) tune(ctx context.Context) (func(), error) {
	var set, reset []string
	if s.d.Engine == migrations.Postgres {
		set, reset = []string{"SET synchronous_commit = off"}, []string{"RESET synchronous_commit"}
	} else {
		set = []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -524288"}
		reset = []string{"PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -2000"}
	}
	for _, q := range set {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return func() {
		for _, q := range reset {
			_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), q)
		}
	}, nil
}

// firstNumber is 1, or one past the highest existing userNNNNN.
func (s *seeder) firstNumber(ctx context.Context) (int, error) {
	var names []string
	if err := s.d.NewSelect().Table("users").Column("username_lower").Where("username_lower LIKE 'user%'").Scan(ctx, &names); err != nil {
		return 0, err
	}
	first := 1
	for _, n := range names {
		if v, err := strconv.Atoi(strings.TrimPrefix(n, "user")); err == nil && v >= first {
			first = v + 1
		}
	}
	return first, nil
}

// buildPool renders a few hundred post bodies once with the node's own renderer, so the
// stored HTML, text and hashtags are exactly what posting them would have stored.
func (s *seeder) buildPool() error {
	u, err := url.Parse(s.o.BaseURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("seed: base URL %q is not a URL", s.o.BaseURL)
	}
	base := s.o.BaseURL
	r := markup.New(markup.Options{LocalHost: u.Host, TagURL: func(tag string) string { return base + "/tags/" + url.PathEscape(tag) }})
	seen := map[string]bool{}
	for tries := 0; len(s.pool) < 600 && tries < 5000; tries++ {
		src := sentence(s.rng)
		if seen[src] {
			continue
		}
		seen[src] = true
		out, err := r.Render(src)
		if err != nil {
			return err
		}
		p := poolText{source: s.dia.AppendString(nil, src), html: s.dia.AppendString(nil, out.HTML), text: s.dia.AppendString(nil, out.Text)}
		for _, t := range out.Tags {
			p.tags = append(p.tags, s.dia.AppendString(nil, t))
		}
		s.pool = append(s.pool, p)
	}
	return nil
}

func (s *seeder) newID(t time.Time) ulid.ULID { return ulid.MustNew(ulid.Timestamp(t), s.ent) }

func appendID(b []byte, id ulid.ULID) []byte {
	b = append(b, '\'')
	b = append(b, id.String()...)
	return append(b, '\'')
}

func (s *seeder) phase(name string, total int64) *meter { return startMeter(s.o.Progress, name, total) }

func (s *seeder) done(m *meter) {
	took := m.finish()
	s.res.Phases = append(s.res.Phases, Phase{Name: m.name, Rows: m.done.Load(), Took: took})
}

// users writes the people: work profiles in teams of eight under a lead, eight teams to a
// department head, created over the weeks before the posting period.
func (s *seeder) users(ctx context.Context) error {
	n := s.o.Users
	m := s.phase("users", int64(n))
	defer s.done(m)
	b := newBulk(ctx, s.conn, "users", "id, username, username_lower, email, email_lower, password_hash, role, state, "+
		"display_name, job_title, department, location, manager_id, bio, pronouns, time_zone, search_text, created_at, updated_at",
		s.o.BatchRows, s.o.TxRows, m)
	hash := s.dia.AppendString(nil, s.o.PasswordHash)
	member, active := s.dia.AppendString(nil, accounts.RoleMember), s.dia.AppendString(nil, accounts.StateActive)
	s.userIDs, s.usernames, s.userIDq = make([]string, n), make([]string, n), make([][]byte, n)
	span := 20 * 24 * time.Hour
	for i := 0; i < n; i++ {
		created := s.start.Add(-30 * 24 * time.Hour).Add(time.Duration(int64(span) / int64(n) * int64(i)))
		id := s.newID(created)
		name := fmt.Sprintf("user%05d", s.first+i)
		s.userIDs[i], s.usernames[i] = id.String(), name
		s.userIDq[i] = appendID(nil, id)
		display := firstNames[s.rng.IntN(len(firstNames))] + " " + lastNames[s.rng.IntN(len(lastNames))]
		dept := departments[(i/64)%len(departments)]
		var title string
		manager := -1
		switch {
		case i%64 == 0:
			title = leadTitles[2+s.rng.IntN(len(leadTitles)-2)]
		case i%8 == 0:
			title, manager = leadTitles[s.rng.IntN(2)], i/64*64
		default:
			title, manager = memberTitles[s.rng.IntN(len(memberTitles))], i/8*8
		}
		li := s.rng.IntN(len(locations))
		email := name + "@seed.example"
		search := strings.ToLower(strings.Join([]string{name, display, title, dept, locations[li]}, " \u0001 "))
		row := b.begin()
		row = append(row, s.userIDq[i]...)
		row = append(row, ',')
		row = s.dia.AppendString(row, name)
		row = append(row, ',')
		row = s.dia.AppendString(row, name)
		row = append(row, ',')
		row = s.dia.AppendString(row, email)
		row = append(row, ',')
		row = s.dia.AppendString(row, email)
		row = append(row, ',')
		row = append(row, hash...)
		row = append(row, ',')
		row = append(row, member...)
		row = append(row, ',')
		row = append(row, active...)
		for _, v := range []string{display, title, dept, locations[li]} {
			row = append(row, ',')
			row = s.dia.AppendString(row, v)
		}
		row = append(row, ',')
		if manager >= 0 {
			row = append(row, s.userIDq[manager]...)
		} else {
			row = append(row, "NULL"...)
		}
		for _, v := range []string{title + " in " + dept + ", based in " + locations[li] + ".", pronounsList[s.rng.IntN(len(pronounsList))], timeZones[li], search} {
			row = append(row, ',')
			row = s.dia.AppendString(row, v)
		}
		row = append(row, ',')
		row = s.dia.AppendTime(row, created)
		row = append(row, ',')
		row = s.dia.AppendTime(row, created)
		if err := b.end(row); err != nil {
			break
		}
	}
	s.res.Users = int64(n)
	return b.close()
}

// follows draws each person's followees: 30% by a Zipf law over a shuffled popularity
// ranking (so a few people are followed by almost everyone), 70% uniformly.
func (s *seeder) follows(ctx context.Context) error {
	n, f := s.o.Users, s.o.Follows
	m := s.phase("follows", int64(n)*int64(f))
	defer s.done(m)
	b := newBulk(ctx, s.conn, "follows", "follower_id, followee_id, created_at", s.o.BatchRows, s.o.TxRows, m)
	rank := s.rng.Perm(n)
	zipf := rand.NewZipf(s.rng, 1.2, 1, uint64(n-1))
	at := s.dia.AppendTime(nil, s.start.Add(-5*24*time.Hour))
	s.followees = make([]int32, n*f)
	taken := make([]bool, n)
	for i := 0; i < n && f > 0; i++ {
		mine := s.followees[i*f : (i+1)*f]
		taken[i] = true
		for k := 0; k < f; {
			var j int
			if s.rng.IntN(10) < 3 {
				j = rank[zipf.Uint64()]
			} else {
				j = s.rng.IntN(n)
			}
			if !taken[j] {
				taken[j] = true
				mine[k] = int32(j)
				k++
			}
		}
		taken[i] = false
		slices.Sort(mine) // ids ascend with the index: rows arrive in primary-key order
		var err error
		for _, j := range mine {
			taken[j] = false
			row := b.begin()
			row = append(row, s.userIDq[i]...)
			row = append(row, ',')
			row = append(row, s.userIDq[j]...)
			row = append(row, ',')
			row = append(row, at...)
			if err = b.end(row); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	s.res.Follows = int64(n) * int64(f)
	return b.close()
}

// postTimes maps a position in [0, 1) of the posting period onto a time, following a
// working week: busy office hours, quiet nights, quieter weekends.
func (s *seeder) postTimes() func(u float64) time.Time {
	hours := s.o.Days * 24
	cum := make([]float64, hours)
	total := 0.0
	for h := 0; h < hours; h++ {
		t := s.start.Add(time.Duration(h) * time.Hour)
		w := 0.05
		switch hr := t.Hour(); {
		case hr >= 9 && hr < 18:
			w = 1
		case hr >= 7 && hr < 21:
			w = 0.4
		}
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			w *= 0.2
		}
		total += w
		cum[h] = total
	}
	return func(u float64) time.Time {
		x := u * total
		h := sort.SearchFloat64s(cum, x)
		if h >= hours {
			h = hours - 1
		}
		lo := 0.0
		if h > 0 {
			lo = cum[h-1]
		}
		frac := (x - lo) / (cum[h] - lo)
		t := s.start.Add(time.Duration((float64(h) + frac) * float64(time.Hour)))
		if t.After(s.o.Now) {
			t = s.o.Now
		}
		return t
	}
}

// posts writes the posts in time order. Authors are drawn by a log-normal activity, so a few
// people post a lot; GroupPostPercent of the posts go to one of the author's groups, and the
// others' audiences are 70% company, 15% public, 15% followers.
func (s *seeder) posts(ctx context.Context) error {
	n, p, ge := s.o.Users, s.o.Posts, s.o.GroupMemberships
	m := s.phase("posts", int64(p))
	defer s.done(m)
	b := newBulk(ctx, s.conn, "posts", "id, uri, author_id, audience, group_id, thread_id, source, content_html, content_text, created_at",
		s.o.BatchRows, s.o.TxRows, m)
	cum := make([]float64, n)
	total := 0.0
	for i := range cum {
		total += math.Exp(s.rng.NormFloat64())
		cum[i] = total
	}
	uriBase := make([][]byte, n)
	for i, name := range s.usernames {
		uriBase[i] = []byte(s.o.BaseURL + "/users/" + name + "/statuses/")
	}
	aud := [][]byte{s.dia.AppendString(nil, string(posts.Company)), s.dia.AppendString(nil, string(posts.Public)),
		s.dia.AppendString(nil, string(posts.Followers)), s.dia.AppendString(nil, string(posts.Group))}
	at := s.postTimes()
	s.postIDs, s.postAuthor, s.postGroup = make([]ulid.ULID, p), make([]int32, p), make([]int32, p)
	var idText [ulid.EncodedSize]byte
	for i := 0; i < p; i++ {
		t := at((float64(i) + s.rng.Float64()) / float64(p))
		id := s.newID(t)
		a := sort.SearchFloat64s(cum, s.rng.Float64()*total)
		if a >= n {
			a = n - 1
		}
		s.postIDs[i], s.postAuthor[i], s.postGroup[i] = id, int32(a), -1
		audience := aud[0]
		// The group draw is made only when groups are seeded, so a seed without them keeps
		// the same random sequence (and company) as before groups existed.
		if ge > 0 && s.rng.IntN(100) < s.o.GroupPostPercent {
			audience, s.postGroup[i] = aud[3], s.memberOf[a*ge+s.rng.IntN(ge)]
			s.res.GroupPosts++
		} else if r := s.rng.IntN(100); r >= 85 {
			audience = aud[2]
		} else if r >= 70 {
			audience = aud[1]
		}
		pi := s.rng.IntN(len(s.pool))
		txt := &s.pool[pi]
		if len(txt.tags) > 0 {
			s.postTags = append(s.postTags, int32(i), int32(pi))
		}
		_ = id.MarshalTextTo(idText[:])
		row := b.begin()
		row = append(append(append(row, '\''), idText[:]...), "',"...)
		row = append(append(append(append(row, '\''), uriBase[a]...), idText[:]...), "',"...)
		row = append(append(row, s.userIDq[a]...), ',')
		row = append(append(row, audience...), ',')
		if g := s.postGroup[i]; g >= 0 {
			row = append(row, s.groupIDq[g]...)
		} else {
			row = append(row, "NULL"...)
		}
		row = append(row, ',')
		row = append(append(append(row, '\''), idText[:]...), "',"...)
		row = append(append(row, txt.source...), ',')
		row = append(append(row, txt.html...), ',')
		row = append(append(row, txt.text...), ',')
		row = s.dia.AppendTime(row, t)
		if err := b.end(row); err != nil {
			break
		}
	}
	s.res.Posts = int64(p)
	return b.close()
}

// tags writes the hashtags of the posts that have them.
func (s *seeder) tags(ctx context.Context) error {
	total := int64(0)
	for i := 1; i < len(s.postTags); i += 2 {
		total += int64(len(s.pool[s.postTags[i]].tags))
	}
	m := s.phase("post_tags", total)
	defer s.done(m)
	b := newBulk(ctx, s.conn, "post_tags", "post_id, tag", s.o.BatchRows, s.o.TxRows, m)
	for i := 0; i < len(s.postTags); i += 2 {
		for _, tag := range s.pool[s.postTags[i+1]].tags {
			row := appendID(b.begin(), s.postIDs[s.postTags[i]])
			row = append(append(row, ','), tag...)
			if err := b.end(row); err != nil {
				return errors.Join(err, b.close())
			}
		}
	}
	s.res.Tags = total
	return b.close()
}

// feeds materialises every home feed as fan-out on write and the periodic trim leave it:
// walking the posts from the newest, each goes to its author's feed and to each follower's
// (a group post: to each member's instead), until a feed holds posts.FeedKeep entries. Rows
// are written in primary-key order.
func (s *seeder) feeds(ctx context.Context) error {
	n, keep := s.o.Users, posts.FeedKeep
	off, fl := invert(s.followees, s.o.Follows, n)                        // followers of a: fl[off[a]:off[a+1]]
	goff, gm := invert(s.memberOf, s.o.GroupMemberships, len(s.groupIDq)) // members of g: gm[goff[g]:goff[g+1]]
	feed := make([]int32, n*keep)
	fill := make([]int32, n)
	full := 0
	push := func(u int32, post int32) {
		if c := fill[u]; c < int32(keep) {
			feed[int(u)*keep+int(c)] = post
			if fill[u] = c + 1; c+1 == int32(keep) {
				full++
			}
		}
	}
	for j := len(s.postIDs) - 1; j >= 0 && full < n; j-- {
		a := s.postAuthor[j]
		push(a, int32(j))
		if g := s.postGroup[j]; g >= 0 {
			for _, u := range gm[goff[g]:goff[g+1]] {
				if u != a { // the author is a member, and has the post already
					push(u, int32(j))
				}
			}
			continue
		}
		for _, u := range fl[off[a]:off[a+1]] {
			push(u, int32(j))
		}
	}
	total := int64(0)
	for _, c := range fill {
		total += int64(c)
	}
	m := s.phase("home_feed", total)
	defer s.done(m)
	b := newBulk(ctx, s.conn, "home_feed", "account_id, post_id", s.o.BatchRows, s.o.TxRows, m)
	for u := 0; u < n; u++ {
		mine := feed[u*keep : u*keep+int(fill[u])]
		for k := len(mine) - 1; k >= 0; k-- { // oldest first: primary-key order
			row := append(append(b.begin(), s.userIDq[u]...), ',')
			row = appendID(row, s.postIDs[mine[k]])
			if err := b.end(row); err != nil {
				return errors.Join(err, b.close())
			}
		}
	}
	s.res.FeedRows = total
	return b.close()
}

// tokens issues personal access tokens for the first people, as `atrium admin token` would,
// as if they had just been used.
func (s *seeder) tokens(ctx context.Context) error {
	if s.o.Tokens == 0 {
		return nil
	}
	now := time.Now().UTC()
	toks := make([]accounts.Token, s.o.Tokens)
	s.res.Tokens = make([]string, s.o.Tokens)
	for i := range toks {
		plain := ids.Token()
		s.res.Tokens[i] = plain
		// Marked used now: the seeded feeds are complete, as an active person's are, so the
		// first request must not take them for someone back after weeks and rebuild them.
		toks[i] = accounts.Token{ID: ids.New(now), UserID: s.userIDs[i], Name: "seed", TokenHash: ids.Hash(plain),
			Scopes: "read write", CreatedAt: now, LastUsedAt: &now}
	}
	_, err := s.d.NewInsert().Model(&toks).Exec(ctx)
	return err
}

// finish folds SQLite's write-ahead log into the database file so a node starts on a clean
// file; on PostgreSQL it refreshes the planner statistics, as autovacuum soon would.
func (s *seeder) finish(ctx context.Context) error {
	m := s.phase("finish", 0)
	defer s.done(m)
	if s.d.Engine == migrations.Postgres {
		_, err := s.d.ExecContext(ctx, "ANALYZE")
		return err
	}
	_, err := s.d.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
