package image

import (
	"fmt"
	"io/fs"
	"path/filepath"

	units "github.com/docker/go-units"
)

// MaxImageBytes is the most an image may hold: its files' sizes plus a
// block for each entry, as the filesystem is sized from them. Inputs are
// measured against it from their headers and file sizes, before any disk
// is used, so a corrupt or hostile header cannot have a bake lay out a
// filesystem of terabytes. 64 GiB is room for any service: images run from
// megabytes to the 10-20 GiB of the largest machine-learning runtimes,
// while a bake at the limit already needs some 130 GiB free in the store
// (the content written raw, then again as qcow2).
const MaxImageBytes int64 = 64 << 30

// add counts one entry of input (the flag and path it came from) and
// refuses the content once it passes MaxImageBytes.
func (c *content) add(input, name string, size int64) error {
	if size > MaxImageBytes-blockSize-c.bytes { // c.bytes never passes the limit, so this cannot overflow
		would := float64(c.bytes) + float64(size) + blockSize
		return fmt.Errorf("%s: the image would hold at least %s (%s is %s), more than the %s an image may hold; bake less into it: leave build trees, caches and data sets out and give data to the service at run time",
			input, units.BytesSize(would), name, units.BytesSize(float64(size)), units.BytesSize(float64(MaxImageBytes)))
	}
	c.bytes += size + blockSize
	c.entries++
	return nil
}

// addTree measures a host file or directory tree, as a copy reads it.
func (c *content) addTree(input, root string) error {
	root, err := copySource(root)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return c.add(input, p, fi.Size())
	})
}

// binaryContent measures a binary recipe: the binary, its copies and the
// skeleton around them.
func binaryContent(r *Recipe) (content, error) {
	var c content
	if err := c.addTree("--binary "+r.Binary, r.Binary); err != nil {
		return content{}, err
	}
	for _, cp := range r.Copies {
		if err := c.addTree("--copy "+cp.Src, cp.Src); err != nil {
			return content{}, err
		}
	}
	c.entries += 16 // the skeleton
	return c, nil
}
