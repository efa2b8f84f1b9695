// Package media turns untrusted uploads into files Atrium is willing to serve, and keeps them.
//
// Uploads are the riskiest input a social network takes: a photo from a phone carries GPS
// coordinates in its EXIF block, a file named avatar.png may be HTML or a PDF, and a few
// kilobytes of PNG can declare a 100000×100000 canvas that would take tens of gigabytes to
// decode. ProcessAvatar therefore sniffs the real format from the bytes, refuses oversized
// images before decoding them, and re-encodes the pixels so that no metadata survives.
// ProcessUpload does the same for the photos attached to posts, and admits documents (PDF,
// Office, OpenDocument, UTF-8 text) only when their bytes prove them to be what they claim,
// checking office archives without decompressing anything.
//
// Storage sits behind the Store interface so that a single-node install can keep blobs on
// local disk (DiskStore) while larger installs plug in an S3-compatible object store without
// touching the code that produces or serves media.
package media
