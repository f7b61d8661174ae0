//go:build !unix

package ioc

import "io/fs"

// sysID returns zeros: this system gives no inode numbers, so a Watcher
// sees a change by size and modification time only.
func sysID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
