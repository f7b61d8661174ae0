//go:build unix

package geo

import (
	"io/fs"
	"syscall"
)

// fileID returns the device and inode of a file, so that a file replaced
// by rename with the same size and modification time is still noticed.
func fileID(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // types differ across unix platforms
	}
	return 0, 0
}
