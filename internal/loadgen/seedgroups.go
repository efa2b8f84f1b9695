package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/atrium-social/atrium/internal/groups"
)

// groupTopics name the seeded groups: teams, guilds, offices and clubs, as a company has.
var groupTopics = []string{"Platform Guild", "Design Systems", "Sales EMEA", "Running Club", "Book Club",
	"Security Champions", "Data Council", "Parents at Work", "Women in Tech", "Accessibility", "Lyon Office",
	"Berlin Office", "Incident Review", "API Users", "Photography", "Board Games", "Green Team", "New Joiners",
	"Leadership Forum", "Customer Voice"}

// groups writes the groups hosted here and their members, as groups.Service would have left
// them: the creator (a group's first member) is its admin, big groups have a moderator,
// members_count counts the members. Each person joins GroupMemberships distinct groups: the
// first in turn (so that every group has members when people outnumber groups), the rest 30%
// by a Zipf law over a shuffled popularity ranking (a few groups gather most of the company)
// and 70% uniformly.
func (s *seeder) groups(ctx context.Context) error {
	ng, ge, n := s.o.Groups, s.o.GroupMemberships, s.o.Users
	if ng == 0 {
		return nil
	}
	first, err := s.firstGroupNumber(ctx)
	if err != nil {
		return err
	}
	s.memberOf = make([]int32, n*ge)
	if ge > 0 {
		rank := s.rng.Perm(ng)
		var zipf *rand.Zipf
		if ng > 1 {
			zipf = rand.NewZipf(s.rng, 1.2, 1, uint64(ng-1))
		}
		taken := make([]bool, ng)
		for i := 0; i < n; i++ {
			mine := s.memberOf[i*ge : (i+1)*ge]
			mine[0] = int32(i % ng)
			taken[mine[0]] = true
			for k := 1; k < ge; {
				var g int
				if zipf != nil && s.rng.IntN(10) < 3 {
					g = rank[zipf.Uint64()]
				} else {
					g = s.rng.IntN(ng)
				}
				if !taken[g] {
					taken[g] = true
					mine[k] = int32(g)
					k++
				}
			}
			for _, g := range mine {
				taken[g] = false
			}
			slices.Sort(mine)
		}
	}
	goff, gm := invert(s.memberOf, ge, ng)

	mg := s.phase("groups", int64(ng))
	b := newBulk(ctx, s.conn, "groups", "id, handle, handle_lower, uri, display_name, note, visibility, creator_id, members_count, created_at, updated_at",
		s.o.BatchRows, s.o.TxRows, mg)
	s.groupIDq = make([][]byte, ng)
	created := s.start.Add(-10 * 24 * time.Hour)
	for g := 0; g < ng; g++ {
		num := first + g
		id := s.newID(created.Add(time.Duration(g) * time.Minute))
		s.groupIDq[g] = appendID(nil, id)
		topic := groupTopics[num%len(groupTopics)]
		name := topic
		if num >= len(groupTopics) {
			name = fmt.Sprintf("%s %d", topic, num/len(groupTopics)+1)
		}
		// Half open, a third closed, the rest secret. The number keeps handles unique
		// (and a --force seed's after the first one's); a secret group's handle ends in
		// random characters, as groups.Service makes it.
		vis := groups.Open
		switch num % 6 {
		case 3, 4:
			vis = groups.Closed
		case 5:
			vis = groups.Secret
		}
		handle := fmt.Sprintf("%s_%d", strings.ReplaceAll(strings.ToLower(topic), " ", "_"), num)
		if vis == groups.Secret {
			handle += "_" + s.suffix(10)
		}
		creator := "''"
		if members := gm[goff[g]:goff[g+1]]; len(members) > 0 {
			creator = string(s.userIDq[members[0]])
		}
		row := b.begin()
		row = append(append(row, s.groupIDq[g]...), ',')
		row = append(s.dia.AppendString(row, handle), ',')
		row = append(s.dia.AppendString(row, handle), ',')
		row = append(s.dia.AppendString(row, s.o.BaseURL+"/groups/"+handle), ',')
		row = append(s.dia.AppendString(row, name), ',')
		row = append(s.dia.AppendString(row, "Everything about "+strings.ToLower(topic)+": news, questions and people."), ',')
		row = append(s.dia.AppendString(row, string(vis)), ',')
		row = append(append(row, creator...), ',')
		row = append(fmt.Appendf(row, "%d", goff[g+1]-goff[g]), ',')
		row = append(s.dia.AppendTime(row, created), ',')
		row = s.dia.AppendTime(row, created)
		if err := b.end(row); err != nil {
			break
		}
	}
	err = b.close()
	s.done(mg)
	if err != nil {
		return err
	}
	s.res.Groups = int64(ng)

	mm := s.phase("members", int64(len(gm)))
	defer s.done(mm)
	b = newBulk(ctx, s.conn, "group_members", "group_id, account_id, role, state, created_at", s.o.BatchRows, s.o.TxRows, mm)
	roles := [][]byte{s.dia.AppendString(nil, string(groups.Admin)), s.dia.AppendString(nil, string(groups.Moderator)),
		s.dia.AppendString(nil, string(groups.Member))}
	joined := s.dia.AppendString(nil, string(groups.Joined))
	at := s.dia.AppendTime(nil, created.Add(24*time.Hour))
	for g := 0; g < ng; g++ {
		members := gm[goff[g]:goff[g+1]]
		for k, u := range members { // ascending: rows arrive in primary-key order
			role := roles[2]
			if k == 0 {
				role = roles[0]
			} else if k == 1 && len(members) > 50 {
				role = roles[1]
			}
			row := b.begin()
			row = append(append(row, s.groupIDq[g]...), ',')
			row = append(append(row, s.userIDq[u]...), ',')
			row = append(append(row, role...), ',')
			row = append(append(row, joined...), ',')
			row = append(row, at...)
			if err := b.end(row); err != nil {
				return errors.Join(err, b.close())
			}
		}
	}
	s.res.Memberships = int64(len(gm))
	return b.close()
}

// firstGroupNumber is the number of groups hosted here already (a --force seed numbers its
// groups after them, so handles stay unique).
func (s *seeder) firstGroupNumber(ctx context.Context) (int, error) {
	n, err := s.d.NewSelect().Table("groups").Where("domain = ''").Count(ctx)
	return int(n), err
}

func (s *seeder) suffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// invert turns lists of k targets per source (sources in order, as followees or groups are
// kept) into compressed rows of sources per target: those of target t are
// out[off[t]:off[t+1]], ascending.
func invert(lists []int32, k, targets int) (off, out []int32) {
	off = make([]int32, targets+1)
	for _, t := range lists {
		off[t+1]++
	}
	for t := 1; t <= targets; t++ {
		off[t] += off[t-1]
	}
	out = make([]int32, len(lists))
	next := slices.Clone(off[:targets])
	for i := 0; k > 0 && i < len(lists)/k; i++ {
		for _, t := range lists[i*k : (i+1)*k] {
			out[next[t]] = int32(i)
			next[t]++
		}
	}
	return off, out
}
