//go:build unix

package ioc

import (
	"io/fs"
	"syscall"
)

// sysID returns the device and inode numbers of a file.
func sysID(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
