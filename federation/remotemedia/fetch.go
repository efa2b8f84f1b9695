package remotemedia

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/outbound"
)

// maxRetryAfter bounds how long a peer's Retry-After can park a fetch.
const maxRetryAfter = time.Hour

// maxErrorLen bounds the error kept in a row.
const maxErrorLen = 500

// handle is the job: fetch, check, process, store, record. It is idempotent: a row that is
// no longer pending (or gone) ends the job.
func (c *Cache) handle(ctx context.Context, j *jobs.Job) error {
	var rawURL string
	if err := j.Decode(&rawURL); err != nil {
		return jobs.Permanent(err)
	}
	e, err := c.Lookup(ctx, rawURL)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil // nothing to fetch for: the row is the record of intent
		}
		return err
	}
	if e.Status != StatusPending {
		return nil
	}
	ferr := c.fetch(ctx, e)
	if ferr == nil {
		return nil
	}
	log := c.log.With("url", e.URL, "attempt", j.Attempts, "err", ferr)
	switch {
	case errors.Is(ferr, ErrNotAllowed), errors.Is(ferr, ErrURL):
		// Policy, not a fault: record it and end the job without leaving a dead one behind.
		log.Debug("remote media refused")
		return c.record(ctx, e.URL, StatusFailed, ferr)
	case jobs.IsPermanent(ferr) || j.Attempts >= j.MaxAttempts:
		if err := c.record(ctx, e.URL, StatusFailed, ferr); err != nil {
			return err
		}
		return jobs.Permanent(ferr)
	}
	// Keep the last error visible while the job retries; the retry itself is the queue's.
	if err := c.record(ctx, e.URL, StatusPending, ferr); err != nil {
		log.Warn("recording a transient media error failed", "db_err", err)
	}
	return ferr
}

// record sets a row's status and error.
func (c *Cache) record(ctx context.Context, rawURL, status string, cause error) error {
	msg := strings.ToValidUTF8(strings.ReplaceAll(cause.Error(), "\x00", ""), "")
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	_, err := c.db.NewUpdate().Model((*Entry)(nil)).Set("status = ?", status).Set("error = ?", msg).
		Where("url = ? AND status = ?", rawURL, StatusPending).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remotemedia: record %s: %w", status, err)
	}
	return nil
}

// fetch downloads, checks, re-encodes and stores one URL and marks it ok. Errors a retry
// cannot fix are wrapped with jobs.Permanent.
func (c *Cache) fetch(ctx context.Context, e *Entry) error {
	u, err := checkURL(e.URL)
	if err != nil {
		return err
	}
	if !c.allowed(ctx, strings.ToLower(u.Host)) {
		return fmt.Errorf("%w: %s", ErrNotAllowed, u.Host)
	}
	body, err := c.download(ctx, e.URL)
	if err != nil {
		return err
	}
	// The declared Content-Type is never consulted: the bytes decide. Only the four image
	// formats internal/media decodes go further; documents stay links for now.
	switch ct := http.DetectContentType(body); ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return jobs.Permanent(fmt.Errorf("%w: the bytes are %s", ErrNotImage, ct))
	}
	p, err := media.ProcessUpload(bytes.NewReader(body), path.Base(u.Path),
		media.UploadLimits{MaxImageBytes: c.maxBytes, MaxDocumentBytes: c.maxBytes})
	if err != nil {
		if errors.Is(err, media.ErrTooLarge) || errors.Is(err, media.ErrUnsupported) {
			return jobs.Permanent(fmt.Errorf("remotemedia: process %s: %w", u.Redacted(), err))
		}
		return fmt.Errorf("remotemedia: process %s: %w", u.Redacted(), err)
	}
	if p.Kind != media.KindImage { // sniffed as an image above; never store anything else
		return jobs.Permanent(fmt.Errorf("%w: processed as %s", ErrNotImage, p.Kind))
	}
	// Blob first, row last: the row saying "ok" is the commit point, and a crash in between
	// only means the same bytes are written again by the retry.
	if err := c.store.Put(ctx, e.FileKey, bytes.NewReader(p.Data), p.ContentType); err != nil {
		return fmt.Errorf("remotemedia: store %s: %w", e.FileKey, err)
	}
	if err := c.store.Put(ctx, e.ThumbKey, bytes.NewReader(p.Thumb), p.ThumbType); err != nil {
		return fmt.Errorf("remotemedia: store %s: %w", e.ThumbKey, err)
	}
	now := c.clock.Now().UTC()
	_, err = c.db.NewUpdate().Model((*Entry)(nil)).
		Set("status = ?", StatusOK).Set("error = ''").
		Set("content_type = ?", p.ContentType).Set("size_bytes = ?", int64(len(p.Data))).
		Set("width = ?", p.Width).Set("height = ?", p.Height).Set("fetched_at = ?", now).
		Where("url = ?", e.URL).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remotemedia: record ok: %w", err)
	}
	return nil
}

// download GETs rawURL through the guarded client and reads the body within the cap.
func (c *Cache) download(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	// No Accept-Encoding: outbound never asks for one, and ReadLimited refuses one sent anyway.
	req.Header.Set("Accept", "image/*")
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, ErrNotAllowed):
			return nil, err
		case errors.Is(err, outbound.ErrBlocked), errors.Is(err, outbound.ErrScheme),
			errors.Is(err, outbound.ErrTooManyRedirects):
			return nil, jobs.Permanent(fmt.Errorf("remotemedia: GET: %w", err))
		}
		return nil, fmt.Errorf("remotemedia: GET: %w", err)
	}
	if s := resp.StatusCode; s < 200 || s > 299 {
		resp.Body.Close()
		err := fmt.Errorf("%w: GET %s: %s", outbound.ErrStatus, req.URL.Redacted(), resp.Status)
		switch {
		case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
			if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				return nil, jobs.RetryAfter(err, d)
			}
			return nil, err
		case s == http.StatusRequestTimeout || s >= 500:
			return nil, err
		}
		// Every other answer (4xx, and 3xx left over when the redirect budget ran out) will
		// not change by asking again.
		return nil, jobs.Permanent(err)
	}
	body, err := outbound.ReadLimited(resp, c.maxBytes)
	if err != nil {
		if errors.Is(err, outbound.ErrTooLarge) || errors.Is(err, outbound.ErrContentEncoding) {
			return nil, jobs.Permanent(fmt.Errorf("remotemedia: GET %s: %w", req.URL.Redacted(), err))
		}
		return nil, fmt.Errorf("remotemedia: GET %s: %w", req.URL.Redacted(), err)
	}
	return body, nil
}

// retryAfter reads a Retry-After header given in seconds (the form servers use for 429 and
// 503), bounded by maxRetryAfter.
func retryAfter(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter), true
}
