// Package follow follows a growing log file like `tail -F` and hands its
// complete lines, in order, to a callback: the way exfilscore reads the
// logs that sensors keep writing (Suricata's eve.json, Zeek's conn.log,
// goflow2's JSON output).
//
// The one function is [Follow]; [Options] configures it, [Position] is the
// resumable place it has reached and [Event] what it reports on the way.
//
//	var pos follow.Position // loaded from disk, or zero
//	opts := follow.Options{OnPosition: func(p follow.Position) { pos = p }}
//	if pos != (follow.Position{}) {
//		opts.Start = &pos
//	}
//	err := follow.Follow(ctx, "/var/log/suricata/eve.json", opts, func(line []byte, n int64) error {
//		return handle(line) // line is only valid during the call
//	})
//	// save pos: resuming from it delivers the next line, none twice
//
// # What it survives
//
//   - A file that does not exist yet, or disappears for a while: Follow
//     waits for it, polling.
//   - Rotation by rename (logrotate's default, Suricata and Zeek's own):
//     when the path names a new file, the old one (still open) is read on
//     until a poll finds nothing new in it, so that lines its writer
//     appends after the rename are not lost; its unterminated last line,
//     if any, is delivered as it is ([EventPartialLine]); then the new file
//     is read from its start. A writer that never stops writing to the old
//     file is left after 40 polls (10 s by default). Lines it writes after
//     that are not seen.
//   - Truncation in place (logrotate's copytruncate): when the file is
//     shorter than what was read, it is read again from offset 0 and line
//     numbers restart at 1 ([EventTruncated]). Lines written and truncated
//     between two polls cannot be seen (they are in the copy); nor can a
//     truncation followed, before the next poll, by more writing than was
//     there before: polling only sees sizes.
//   - A partial last line: held until its newline arrives.
//   - A line longer than [Options.MaxLine] (1 MiB by default): skipped,
//     counted in the line numbers, reported ([EventLongLine]).
//
// Lines are split at '\n' only; the newline is not part of the line, and a
// '\r' before it is left in place.
//
// # Positions and resuming
//
// A [Position] names a file by device and inode number (so that it is
// recognised after a rename) and by a fingerprint of its first bytes (up
// to 1 KiB: so that a new file that got the old inode number, which
// happens as soon as the old one is deleted, is not taken for it), and
// holds the byte offset just after the last line delivered and that
// line's number. [Options.OnPosition] receives it
// after every line and at every change of file; given back as
// [Options.Start] it resumes exactly there: no line lost, none repeated,
// as long as the position persisted is the one of the last line the
// caller committed. When the saved file has been rotated away while the
// program was stopped, Follow looks for it under another name in the
// path's directory (logrotate's eve.json.1), finishes it from the saved
// offset, then reads the new file from its start. When it is gone
// (deleted, compressed) that is reported ([EventResumeLost]) and the file
// at the path is read from its start. A saved file found shorter than the
// saved offset was truncated: it is read from its start ([EventTruncated]);
// one with another beginning is another file (or was truncated and
// written again): it is read from its start too ([EventResumeLost]).
//
// Limits: regular files only (not pipes); a new file with the old inode
// number and the same first bytes (up to the saved offset, or 1 KiB) is
// taken for the old one; on systems without inode numbers (Windows)
// positions carry none, and the fingerprint alone guards the resume.
//
// # Polling and concurrency
//
// Follow polls (every [Options.Poll], 250 ms by default); it does not use
// inotify or any other notification. It runs in the calling goroutine,
// starts none, and stops when its context is done, returning ctx.Err(). A
// callback error stops it too and is returned as is.
package follow
