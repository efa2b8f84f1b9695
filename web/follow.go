package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/server"
)

// followView is the profile's follow box: the counts and the button.
type followView struct {
	Username             string
	Name                 string
	Followers, Following int
	IsFollowing          bool
	Notifying            bool // the bell: told of each new post (Follows.SetNotify)
	Requested            bool // asked a partner node; no answer yet
	Blocking             bool // the viewer blocks this person
	BlockedBy            bool // this person's node says they block the viewer
	FollowsYou           bool
	CanFollow            bool
	CanBlock             bool
	CSRF                 string
}

func (s *site) followView(c *fiber.Ctx, u *accounts.User) (followView, error) {
	ctx := c.UserContext()
	me := server.CurrentUser(c)
	f := followView{Username: u.Acct(), Name: u.Name(), CanFollow: me.ID != u.ID && u.Active(), CanBlock: me.ID != u.ID,
		CSRF: server.CSRFToken(c)}
	var err error
	if f.Followers, f.Following, err = s.Follows.Counts(ctx, u.ID); err != nil {
		return f, err
	}
	rel, err := s.Follows.Relationships(ctx, me.ID, []string{u.ID})
	if err != nil {
		return f, err
	}
	if len(rel) == 1 {
		f.IsFollowing, f.FollowsYou, f.Requested, f.Notifying = rel[0].Following, rel[0].FollowedBy, rel[0].Requested, rel[0].Notifying
		f.Blocking, f.BlockedBy = rel[0].Blocking, rel[0].BlockedBy
		f.CanFollow = f.CanFollow && !f.Blocking && !f.BlockedBy
	}
	return f, nil
}

func (s *site) follow(c *fiber.Ctx) error   { return s.setFollow(c, true) }
func (s *site) unfollow(c *fiber.Ctx) error { return s.setFollow(c, false) }

// setFollow follows or unfollows a colleague; the script gets the new follow box.
func (s *site) setFollow(c *fiber.Ctx, on bool) error {
	u, err := s.visiblePerson(c)
	if err != nil {
		return s.actionError(c, err)
	}
	me := server.CurrentUser(c)
	if on {
		_, err = s.Follows.Follow(c.UserContext(), me.ID, u.ID)
	} else {
		err = s.Follows.Unfollow(c.UserContext(), me.ID, u.ID)
	}
	if err != nil {
		return s.actionError(c, err)
	}
	return s.followBoxAfter(c, u)
}

// setNotify rings or silences the bell on someone the viewer follows: with it on, each new
// post of theirs is a notification (the same setting as Mastodon apps' bell).
func (s *site) setNotify(c *fiber.Ctx) error {
	u, err := s.visiblePerson(c)
	if err != nil {
		return s.actionError(c, err)
	}
	on := c.FormValue("on") == "1"
	if err := s.Follows.SetNotify(c.UserContext(), server.CurrentUser(c).ID, u.ID, on); err != nil {
		return s.actionError(c, err)
	}
	return s.followBoxAfter(c, u)
}

func (s *site) block(c *fiber.Ctx) error   { return s.setBlock(c, true) }
func (s *site) unblock(c *fiber.Ctx) error { return s.setBlock(c, false) }

// setBlock blocks or unblocks someone: follows both ways end, and a person on a partner node
// has their node told (Block / Undo{Block}).
func (s *site) setBlock(c *fiber.Ctx, on bool) error {
	u, err := s.visiblePerson(c)
	if err != nil {
		return s.actionError(c, err)
	}
	me := server.CurrentUser(c)
	if me.ID == u.ID {
		return s.actionError(c, errs.E(errs.Invalid, "you cannot block yourself"))
	}
	if on {
		err = s.Follows.Block(c.UserContext(), me.ID, u.ID)
	} else {
		err = s.Follows.Unblock(c.UserContext(), me.ID, u.ID)
	}
	if err != nil {
		return s.actionError(c, err)
	}
	return s.followBoxAfter(c, u)
}

// followBoxAfter answers a follow or block action: the refreshed follow box for a script,
// back to the page for a plain form.
func (s *site) followBoxAfter(c *fiber.Ctx, u *accounts.User) error {
	if !isFetch(c) {
		return c.Redirect(back(c, "/people/"+u.Acct()), fiber.StatusSeeOther)
	}
	f, err := s.followView(c, u)
	if err != nil {
		return err
	}
	return s.fragment(c, fiber.StatusOK, "follow-box", f)
}
