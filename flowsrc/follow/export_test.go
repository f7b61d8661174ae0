package follow

// Split feeds chunks to a follower's line splitter as successive reads of
// one file and returns the lines delivered with their numbers, the bytes
// held as a partial line, and the position reached.
func Split(chunks [][]byte, maxLine int) (lines []string, nums []int64, pending string, pos Position) {
	fl := &follower{opts: Options{MaxLine: maxLine}, headN: -1}
	fl.line = func(b []byte, n int64) error {
		lines = append(lines, string(b))
		nums = append(nums, n)
		return nil
	}
	for _, c := range chunks {
		if err := fl.take(c); err != nil {
			panic(err)
		}
	}
	return lines, nums, string(fl.pending), fl.pos()
}

// FNV1a exposes the fingerprint hash.
var FNV1a = fnv1a
