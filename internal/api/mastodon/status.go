package mastodon

import (
	"context"
	"maps"
	"strconv"
	"strings"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
)

// MediaAttachment is Mastodon's MediaAttachment entity.
type MediaAttachment struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"` // image or unknown (documents)
	URL         string         `json:"url"`
	PreviewURL  *string        `json:"preview_url"`
	RemoteURL   *string        `json:"remote_url"`
	TextURL     *string        `json:"text_url"`
	Meta        map[string]any `json:"meta"`
	Description *string        `json:"description"`
	Blurhash    *string        `json:"blurhash"`
	FileName    string         `json:"atrium_file_name,omitempty"`
	SizeBytes   int64          `json:"atrium_size_bytes,omitempty"`
}

// StatusMention is Mastodon's Status::Mention.
type StatusMention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Tag is Mastodon's Status::Tag.
type Tag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Card is Mastodon's PreviewCard.
type Card struct {
	URL          string  `json:"url"`
	Title        string  `json:"title"`
	Description  string  `json:"description"`
	Type         string  `json:"type"`
	Authors      []any   `json:"authors"` // Mastodon 4.3's PreviewCardAuthor list: [] (unknown)
	AuthorName   string  `json:"author_name"`
	AuthorURL    string  `json:"author_url"`
	ProviderName string  `json:"provider_name"`
	ProviderURL  string  `json:"provider_url"`
	HTML         string  `json:"html"`
	Width        int     `json:"width"`
	Height       int     `json:"height"`
	Image        *string `json:"image"`
	EmbedURL     string  `json:"embed_url"`
	Blurhash     *string `json:"blurhash"`
}

// StatusExtras are Atrium's additions, under a namespaced key apps ignore.
type StatusExtras struct {
	Audience       string         `json:"audience"`
	Important      bool           `json:"important"`
	ImportantUntil *string        `json:"important_until"`
	Reactions      map[string]int `json:"reactions"`
	MyReaction     *string        `json:"my_reaction"`
	ThreadID       string         `json:"thread_id"`
	Group          *StatusGroup   `json:"group"` // the group the status was posted in, or null
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string            `json:"id"`
	URI                string            `json:"uri"`
	URL                string            `json:"url"`
	CreatedAt          string            `json:"created_at"`
	Account            Account           `json:"account"`
	Content            string            `json:"content"`
	Visibility         string            `json:"visibility"`
	LocalOnly          bool              `json:"local_only"`
	Sensitive          bool              `json:"sensitive"`
	SpoilerText        string            `json:"spoiler_text"`
	MediaAttachments   []MediaAttachment `json:"media_attachments"`
	Application        any               `json:"application,omitempty"` // a hash when known; never null
	Mentions           []StatusMention   `json:"mentions"`
	Tags               []Tag             `json:"tags"`
	Emojis             []any             `json:"emojis"`
	ReblogsCount       int               `json:"reblogs_count"`
	FavouritesCount    int               `json:"favourites_count"`
	RepliesCount       int               `json:"replies_count"`
	InReplyToID        *string           `json:"in_reply_to_id"`
	InReplyToAccountID *string           `json:"in_reply_to_account_id"`
	Reblog             *Status           `json:"reblog"`
	Poll               *Poll             `json:"poll"`
	Card               *Card             `json:"card"`
	Language           *string           `json:"language"`
	Text               *string           `json:"text"`
	EditedAt           *string           `json:"edited_at"`
	Favourited         bool              `json:"favourited"`
	Reblogged          bool              `json:"reblogged"`
	Muted              bool              `json:"muted"`
	Bookmarked         bool              `json:"bookmarked"`
	Pinned             bool              `json:"pinned"`
	Filtered           []any             `json:"filtered"`
	Atrium             StatusExtras      `json:"atrium"`
}

// visibility maps an audience onto Mastodon's four values; company posts are "public"
// with local_only, as glitch-soc and Hometown mark posts that never leave the server.
func visibility(a posts.Audience) (string, bool) {
	switch a {
	case posts.Followers, posts.Group:
		return "private", false
	case posts.Direct:
		return "direct", false
	case posts.Company:
		return "public", true
	}
	return "public", false
}

// presenter renders posts as statuses with every batch lookup done once per page.
type presenter struct {
	api    *api
	base   string
	viewer *posts.Viewer
	// unready maps the keys of partners' images not copied here yet to their remote URL.
	unready map[string]string
	groups  map[string]*groups.Group
}

// statuses renders a page of posts for the viewer.
func (a *api) statuses(ctx context.Context, v *posts.Viewer, ps []*posts.Post) ([]Status, error) {
	return a.statusesWith(ctx, v, ps, nil)
}

// statusesWith is statuses with the viewer's state of the posts of ps already read (the
// home feed reads it with the page); nil reads it here. Only the originals of shares are then
// left to look up.
func (a *api) statusesWith(ctx context.Context, v *posts.Viewer, ps []*posts.Post, known *posts.ViewerState) ([]Status, error) {
	pr := presenter{api: a, base: a.BaseURL(ctx), viewer: v}
	originals, err := a.Posts.Originals(ctx, v, ps)
	if err != nil {
		return nil, err
	}
	all := append([]*posts.Post{}, ps...)
	for _, o := range originals {
		all = append(all, o)
	}
	idList, authorIDs := make([]string, 0, len(all)), make([]string, 0, len(all))
	parents, groupIDs := []string{}, []string{}
	for _, p := range all {
		idList = append(idList, p.ID)
		authorIDs = append(authorIDs, p.AuthorID)
		if p.InReplyToID != nil {
			parents = append(parents, *p.InReplyToID)
		}
		if p.GroupID != nil {
			groupIDs = append(groupIDs, *p.GroupID)
		}
	}
	if pr.groups, err = a.loadGroups(ctx, groupIDs); err != nil {
		return nil, err
	}
	parentAuthors, err := a.Posts.Authors(ctx, parents)
	if err != nil {
		return nil, err
	}
	authors, err := a.Accounts.GetMany(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	// Only posts with reactions have a breakdown to read (the count is kept with the
	// reactions): most posts of a page, and every post just created, have none.
	reacted := make([]string, 0, len(all))
	for _, p := range all {
		if p.ReactionsCount > 0 {
			reacted = append(reacted, p.ID)
		}
	}
	summary, err := a.Posts.ReactionSummary(ctx, reacted)
	if err != nil {
		return nil, err
	}
	var state posts.ViewerState
	if known == nil {
		if state, err = a.Posts.StateOf(ctx, v, idList); err != nil {
			return nil, err
		}
	} else {
		state = *known
		if len(originals) > 0 {
			rest := make([]string, 0, len(originals))
			for id := range originals {
				rest = append(rest, id)
			}
			more, err := a.Posts.StateOf(ctx, v, rest)
			if err != nil {
				return nil, err
			}
			maps.Copy(state.Reaction, more.Reaction)
			maps.Copy(state.Shared, more.Shared)
			maps.Copy(state.Bookmarked, more.Bookmarked)
		}
	}
	if pr.unready, err = a.unreadyMedia(ctx, all); err != nil {
		return nil, err
	}
	var cards map[string]*previews.Preview
	if a.Previews != nil {
		if cards, err = a.Previews.ForPosts(ctx, idList); err != nil {
			return nil, err
		}
	}
	// Polls cost a query only when a post of the page has one (posts.Post.HasPoll).
	var pollViews map[string]*polls.View
	if a.Polls != nil {
		if pollViews, err = a.Polls.ForPosts(ctx, v, all); err != nil {
			return nil, err
		}
	}
	// Pins and muted threads: cached per viewer (statuses_extra.go), no query per page.
	marks, err := a.marksFor(ctx, v)
	if err != nil {
		return nil, err
	}
	render := func(p *posts.Post) Status {
		st := pr.status(p, authors[p.AuthorID], parentAuthors, summary[p.ID], state, cards[p.ID])
		if pv := pollViews[p.ID]; pv != nil {
			st.Poll = pollEntity(pv, v)
		}
		st.Pinned = v != nil && p.AuthorID == v.ID && marks.Pinned[p.ID] // shown to the author only, as Mastodon does
		st.Muted = marks.MutedThreads[p.ThreadID]
		return st
	}
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		st := render(p)
		if p.ReblogOfID != nil {
			o, ok := originals[*p.ReblogOfID]
			if !ok {
				continue // the original is gone or hidden: the share shows nothing
			}
			inner := render(o)
			st.Reblog = &inner
			st.Reblogged = state.Shared[o.ID]
		}
		out = append(out, st)
	}
	return out, nil
}

func (a *api) status(ctx context.Context, v *posts.Viewer, p *posts.Post) (Status, error) {
	out, err := a.statuses(ctx, v, []*posts.Post{p})
	if err != nil {
		return Status{}, err
	}
	if len(out) == 0 {
		return Status{}, errNotFound()
	}
	return out[0], nil
}

func (pr presenter) status(p *posts.Post, author *accounts.User, parentAuthors map[string]string, reactions map[string]int,
	state posts.ViewerState, card *previews.Preview) Status {
	vis, local := visibility(p.Audience)
	st := Status{ID: p.ID, URI: p.URI, URL: pr.base + "/posts/" + p.ID, CreatedAt: mastodonTime(p.CreatedAt),
		Content: p.ContentHTML, Visibility: vis, LocalOnly: local, Sensitive: p.Sensitive, SpoilerText: p.SpoilerText,
		MediaAttachments: []MediaAttachment{}, Mentions: []StatusMention{}, Tags: []Tag{}, Emojis: []any{},
		ReblogsCount: p.ReblogsCount, FavouritesCount: p.ReactionsCount, RepliesCount: p.RepliesCount,
		InReplyToID: p.InReplyToID, Favourited: state.Reaction[p.ID] != "", Reblogged: state.Shared[p.ID],
		Bookmarked: state.Bookmarked[p.ID], Filtered: []any{},
		Atrium: StatusExtras{Audience: string(p.Audience), Important: p.Important, Reactions: map[string]int{}, ThreadID: p.ThreadID}}
	if author != nil {
		st.Account = pr.api.account(author, pr.base)
	}
	if !p.Local(pr.base) { // a post from another node links to its home there
		st.URL = p.URI
	}
	if p.InReplyToID != nil {
		if id, ok := parentAuthors[*p.InReplyToID]; ok {
			st.InReplyToAccountID = &id
		}
	}
	if p.Language != "" {
		st.Language = &p.Language
	}
	if p.EditedAt != nil {
		t := mastodonTime(*p.EditedAt)
		st.EditedAt = &t
	}
	if p.ImportantUntil != nil {
		t := mastodonTime(*p.ImportantUntil)
		st.Atrium.ImportantUntil = &t
	}
	if p.GroupID != nil {
		if g := pr.groups[*p.GroupID]; g != nil {
			st.Atrium.Group = statusGroup(g)
		}
	}
	for e, n := range reactions {
		st.Atrium.Reactions[e] = n
	}
	if e, ok := state.Reaction[p.ID]; ok {
		st.Atrium.MyReaction = &e
	}
	for _, m := range p.Mentions {
		id, url := m.AccountID, pr.base+"/people/"+m.Acct
		if strings.HasPrefix(id, "acct:") {
			url = ""
		}
		st.Mentions = append(st.Mentions, StatusMention{ID: id, Username: strings.SplitN(m.Acct, "@", 2)[0], URL: url, Acct: m.Acct})
	}
	for _, t := range p.Tags {
		st.Tags = append(st.Tags, Tag{Name: t, URL: pr.base + "/tags/" + t})
	}
	for _, at := range p.Attachments {
		st.MediaAttachments = append(st.MediaAttachments, pr.media(at))
	}
	if card != nil && len(st.MediaAttachments) == 0 {
		c := &Card{URL: card.URL, Title: card.Title, Description: card.Description, Type: "link", Authors: []any{}, ProviderName: card.SiteName}
		if card.ImageURL != "" {
			img := card.ImageURL
			c.Image = &img
		}
		st.Card = c
	}
	return st
}

func (pr presenter) media(at posts.Attachment) MediaAttachment {
	if origin, pending := pr.unready[at.FileKey]; pending {
		return pendingMedia(at, origin)
	}
	m := MediaAttachment{ID: at.ID, Type: "unknown", URL: pr.base + "/media/" + at.FileKey, Meta: map[string]any{},
		FileName: at.FileName, SizeBytes: at.SizeBytes}
	if at.Kind == "image" {
		m.Type = "image"
		if at.Width > 0 && at.Height > 0 {
			m.Meta["original"] = map[string]any{"width": at.Width, "height": at.Height,
				"size": strconv.Itoa(at.Width) + "x" + strconv.Itoa(at.Height), "aspect": float64(at.Width) / float64(at.Height)}
		}
	}
	if at.ThumbKey != "" {
		u := pr.base + "/media/" + at.ThumbKey
		m.PreviewURL = &u
	}
	if at.Description != "" {
		d := at.Description
		m.Description = &d
	}
	return m
}
