// Package chat keeps conversations between people here and on partner nodes: 1:1 ("direct")
// chats and group chats, their messages, reactions, read state and live events. The web
// pages, the JSON API and federation call this one service, so one set of rules answers
// everywhere; every rule is checked here, not in the transports.
//
// # Rules
//
//   - A direct chat is unique per pair of people (chat_conversations.pair_key): starting it
//     again returns the existing one. It never gains members and has no name; to add someone,
//     start a group chat. Leaving a direct chat hides it until its next message.
//   - A group chat has a name (optional) and admins: its creator, and whoever an admin names.
//     Admins add and remove people; any member renames it, mutes it for themselves, or leaves.
//     When the last admin leaves, the member here who joined first becomes admin.
//   - People added later read the messages from the moment they were added, not the history
//     (what their node would receive through federation anyway).
//   - Someone not in a chat gets 404 for it and everything in it, so a chat's existence is
//     never confirmed to outsiders. Someone removed, or who left, loses it at once.
//   - People on other nodes take part when Deps.Reachable allows (the partner policy: see
//     PartnerPolicy); deactivated people cannot be added, and a direct chat with one refuses
//     new messages. A group chat carries on for the others.
//   - Only the author edits (the time is kept and shown) or deletes (a tombstone stays, its
//     text, link, files and reactions gone) a message. Reactions come from posts.ReactionSet,
//     one per person per message.
//   - Limits: MaxChars characters, MaxAttachments files (the upload limits of posts),
//     MaxMembers people, MaxNameChars for a name; typing notices one per TypingInterval.
//
// # Order, pages and catching up
//
// A message's id is a ULID of its created_at, truncated to the millisecond, whose random
// part is drawn from the message's URI (messageID): every node that holds the message gives
// it the same id, so a chat is in the same order on every node, and id order is the order
// (created_at, id) on every engine; Mastodon-style keyset pages (max_id, since_id, min_id)
// need one index. A chat's own messages are at least a millisecond apart (nextTime), so
// they sort in the order they were sent. A partner's message keeps its published time (sent
// to the millisecond), so a late delivery sorts where it was written. Each change to a chat's messages (new, edited, deleted,
// reacted to) takes the chat's next seq under the chat row's lock, and the message keeps it:
// Changes(since seq) gives a client everything it missed, late arrivals included, in order,
// without gaps or repeats.
//
// # Live events
//
// After commit (db.AfterCommit), the service publishes to the realtime Hub on the per-user
// streams of the chat's people on this node, and only theirs: the "atrium.chat.*" kinds
// (live.go) on "user" for the browser, and Mastodon's "conversation" on "direct" for apps.
// Payload shapes come from Deps.Render (the JSON API's entities) so that live events and the
// API agree. Typing notices are never stored.
//
// # Federation seams
//
// Hook hears of every change inside its transaction, as posts hooks do; federation renders
// direct notes from it (FEDERATION.md §4: addressed to the members, each mentioned, with the
// chat's URI as context). The Receive functions apply what partners send, idempotently by
// URI, with the origin checks of FEDERATION.md §2. A group chat's member list belongs to the
// node that started it (Conversation.Domain); ReceiveMembers applies that node's word.
//
// # Why uploads leave the attachments table
//
// Files come through the same upload endpoint as posts (media checks, re-encoding, limits).
// Sending a message moves the upload's row from the social core's attachments table into
// chat_attachments in one statement that also checks it is unused, so one file can never be
// in a post and a chat, or in two messages, and deleting the message can delete the file.
package chat
