// Package posts is the social core: posts, comments (replies), shares (boosts), edits with
// history, mentions, hashtags, attachments, reactions, bookmarks and announcements
// ("important" posts with read receipts).
//
// Visibility is decided in exactly one place (visibility.go). A comment is visible to whoever
// can see its thread's root post, as in Workplace: the audience is chosen once per
// conversation, so a comment can never reach people the post did not. Anything a viewer
// cannot see is NotFound, never Forbidden, so its existence is not confirmed.
//
// Side effects other packages care about (notifications, live updates, federation) leave
// through the Hook interface inside the same transaction as the change.
package posts
