package follow_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc/follow"
)

// FuzzLines holds the line splitter to the obvious reference (split the
// whole content at '\n'; lines longer than maxLine are skipped but
// numbered; the rest after the last '\n' is the partial line), whatever
// the sizes of the reads the content arrives in.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), []byte{1, 3}, uint8(2))
	f.Add([]byte("0123456789\nshort\n0123456789abcdef\nend"), []byte{5, 1, 20}, uint8(10))
	f.Add(bytes.Repeat([]byte("line of text\n"), 100), []byte{7, 200, 13}, uint8(255))
	f.Fuzz(func(t *testing.T, data, cuts []byte, max uint8) {
		maxLine := int(max) + 1
		// Cut data into reads of the sizes given by cuts (cycled).
		var chunks [][]byte
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		lines, nums, pending, pos := follow.Split(chunks, maxLine)

		parts := bytes.Split(data, []byte("\n"))
		last := parts[len(parts)-1]
		var wantLines []string
		var wantNums []int64
		for i, p := range parts[:len(parts)-1] {
			if len(p) <= maxLine {
				wantLines = append(wantLines, string(p))
				wantNums = append(wantNums, int64(i+1))
			}
		}
		wantPending := string(last)
		if len(last) > maxLine {
			wantPending = ""
		}
		if !slices.Equal(lines, wantLines) || !slices.Equal(nums, wantNums) || pending != wantPending {
			t.Fatalf("lines %q %v pending %q, want %q %v pending %q", lines, nums, pending, wantLines, wantNums, wantPending)
		}
		off := int64(len(data) - len(last))
		head := min(off, 1024)
		want := follow.Position{Offset: off, Line: int64(len(parts) - 1)}
		if head > 0 {
			want.Head, want.HeadHash = head, follow.FNV1a(data[:head])
		}
		if pos != want {
			t.Fatalf("position %+v, want %+v", pos, want)
		}
	})
}
