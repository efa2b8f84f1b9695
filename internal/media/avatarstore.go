package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path"
	"strings"
)

// AvatarThumbKey is the key of the thumbnail stored beside the picture under full.
func AvatarThumbKey(full string) string {
	ext := path.Ext(full)
	return strings.TrimSuffix(full, ext) + "-thumb" + ext
}

// avatarKeys makes the keys of a new picture: avatars/<user>/<random>.<ext> and the same with
// -thumb. Keys must be lower case, hence the lowered user id.
func avatarKeys(userID, contentType string) (full, thumb string, err error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	full = "avatars/" + strings.ToLower(userID) + "/" + hex.EncodeToString(b) + ext
	return full, AvatarThumbKey(full), nil
}

// SaveAvatar stores a processed picture and its thumbnail under fresh random keys, then calls
// use to point the person at the new picture (it returns the previous key, "" for none), then
// removes the previous files. The new files are written before the switch and the old ones
// deleted after it, so a profile never points at a missing picture, and a failed switch
// leaves no new files behind. It is the one way the pages and the API replace an avatar.
//
// leftover reports old files that could not be deleted: the change itself succeeded, and an
// orphan file is only worth a log line.
func SaveAvatar(ctx context.Context, store Store, userID string, av *Avatar, use func(ctx context.Context, key string) (old string, err error)) (leftover, err error) {
	full, thumb, err := avatarKeys(userID, av.ContentType)
	if err != nil {
		return nil, err
	}
	if err := store.Put(ctx, full, bytes.NewReader(av.Full), av.ContentType); err != nil {
		return nil, err
	}
	if err := store.Put(ctx, thumb, bytes.NewReader(av.Thumb), av.ContentType); err != nil {
		return deleteAvatar(ctx, store, full), err
	}
	old, err := use(ctx, full)
	if err != nil {
		return deleteAvatar(ctx, store, full), err
	}
	if old != "" && old != full {
		return deleteAvatar(ctx, store, old), nil
	}
	return nil, nil
}

// deleteAvatar removes a picture and its thumbnail, reporting what could not be removed.
func deleteAvatar(ctx context.Context, store Store, full string) error {
	var out []error
	for _, k := range []string{full, AvatarThumbKey(full)} {
		if err := store.Delete(ctx, k); err != nil {
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}
