package zzqbench

import (
	"context"
	"testing"

	"github.com/atrium-social/atrium/internal/db"
)

const head = "p.id, p.edited_at, p.replies_count, p.reblogs_count, p.reactions_count"
const from = ` FROM home_feed AS h JOIN posts AS p ON p.id = h.post_id WHERE h.account_id = ?1 AND p.deleted_at IS NULL AND h.post_id < ?2 AND h.post_id > ?3 ORDER BY h.post_id DESC LIMIT ?4`

var variants = map[string]string{
	"old":    `SELECT ` + head + from,
	"bm":     `SELECT ` + head + `, EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = ?1 AND b.post_id = p.id)` + from,
	"all":    `SELECT ` + head + `, CASE WHEN p.reactions_count > 0 THEN (SELECT r.emoji FROM reactions r WHERE r.post_id = p.id AND r.account_id = ?1) END, CASE WHEN p.reblogs_count > 0 THEN EXISTS (SELECT 1 FROM posts s WHERE s.reblog_of_id = p.id AND s.author_id = ?1 AND s.deleted_at IS NULL) ELSE FALSE END, EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = ?1 AND b.post_id = p.id)` + from,
	"guard":  `SELECT ` + head + `, CASE WHEN p.reactions_count > 0 THEN (SELECT r.emoji FROM reactions r WHERE r.post_id = p.id AND r.account_id = ?1) END, CASE WHEN p.reblogs_count > 0 THEN EXISTS (SELECT 1 FROM posts s WHERE s.reblog_of_id = p.id AND s.author_id = ?1 AND s.deleted_at IS NULL) ELSE FALSE END, CASE WHEN EXISTS (SELECT 1 FROM bookmarks WHERE account_id = ?1 AND post_id < ?2 AND post_id > ?3) THEN EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = ?1 AND b.post_id = p.id) ELSE FALSE END` + from,
	"idonly": `SELECT h.post_id FROM home_feed AS h WHERE h.account_id = ?1 AND h.post_id < ?2 AND h.post_id > ?3 ORDER BY h.post_id DESC LIMIT ?4`,
}

func BenchmarkHeads(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Path: "/tmp/perfwork/p3/atrium.db"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var users []string
	if err := d.NewSelect().Table("users").Column("id").Limit(64).OrderExpr("id").Scan(ctx, &users); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"old", "all", "guard"} {
		b.Run(name, func(b *testing.B) {
			st, err := d.Prepared(ctx, variants[name])
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				rows, err := st.QueryContext(ctx, users[i%len(users)], "~", "", 20)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				i++
			}
		})
	}
}

func BenchmarkStateOf(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Path: "/tmp/perfwork/p3/atrium.db"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var users []string
	if err := d.NewSelect().Table("users").Column("id").Limit(64).OrderExpr("id").Scan(ctx, &users); err != nil {
		b.Fatal(err)
	}
	lists := make([]string, len(users))
	for i, u := range users {
		if err := d.NewRaw("SELECT json_group_array(post_id) FROM (SELECT post_id FROM home_feed WHERE account_id = ? ORDER BY post_id DESC LIMIT 20)", u).Scan(ctx, &lists[i]); err != nil {
			b.Fatal(err)
		}
	}
	st, err := d.Prepared(ctx, `SELECT 'r' AS kind, post_id, emoji FROM reactions WHERE account_id = ?1 AND post_id IN (SELECT value FROM json_each(?2))
		UNION ALL SELECT 's', reblog_of_id, '' FROM posts WHERE author_id = ?1 AND reblog_of_id IN (SELECT value FROM json_each(?2)) AND deleted_at IS NULL
		UNION ALL SELECT 'b', post_id, '' FROM bookmarks WHERE account_id = ?1 AND post_id IN (SELECT value FROM json_each(?2))`)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		rows, err := st.QueryContext(ctx, users[i%len(users)], lists[i%len(users)])
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
		i++
	}
}
