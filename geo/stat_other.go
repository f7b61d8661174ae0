//go:build !unix

package geo

import "io/fs"

// fileID returns 0, 0 where the platform gives no inode: changes are then
// noticed by size and modification time only.
func fileID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
