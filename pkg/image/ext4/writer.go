package ext4

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Meta is what an entry keeps beside its content.
type Meta struct {
	Mode     fs.FileMode // permissions with the setuid, setgid and sticky bits
	Uid, Gid int
	Mtime    time.Time
}

// Writer writes one filesystem. Paths are slash-separated and relative to
// the root ("etc/passwd"); a leading slash is allowed. Parents missing
// when an entry is added are made with mode 0755, owned by root.
type Writer struct {
	f     *os.File
	geo   geometry
	label string
	uuid  [16]byte
	next  uint32  // the next block to hand out: blocks go in order
	nodes []*node // by inode number
	paths map[string]*node
	buf   []byte
}

// ErrNoSpace is an image whose content does not fit its size or inodes.
var ErrNoSpace = errors.New("filesystem full")

// Create lays out a filesystem of size bytes with at least inodes inodes
// in f, a new empty file it truncates to size (unwritten blocks must read
// as zeros).
func Create(f *os.File, size int64, inodes uint32, label string) (*Writer, error) {
	geo, err := newGeometry(size, inodes)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		return nil, fmt.Errorf("size the filesystem image: %w", err)
	}
	w := &Writer{f: f, geo: geo, label: label, uuid: randomUUID(), paths: map[string]*node{}, buf: make([]byte, 1<<20)}
	w.nodes = make([]*node, firstIno)
	root := &node{ino: rootIno, mode: modeDir | 0o755}
	root.parent = root
	w.nodes[rootIno] = root
	w.paths[""] = root
	lf := &node{ino: lostFoundIno, mode: modeDir | 0o700, parent: root}
	w.nodes = append(w.nodes, lf)
	root.children = append(root.children, dirent{"lost+found", lf})
	w.paths["lost+found"] = lf
	if err := w.addJournal(); err != nil {
		return nil, err
	}
	return w, nil
}

// addJournal makes the journal's inode and blocks, all of them holes but
// the superblock at the start.
func (w *Writer) addJournal() error {
	blocks := journalBlocks(w.geo.blocks)
	j := &node{ino: journalIno, mode: modeFile | 0o600, links: 1, size: uint64(blocks) * blockSize}
	w.nodes[journalIno] = j
	if err := w.place(j, blocks); err != nil {
		return fmt.Errorf("make the journal: %w", err)
	}
	if _, err := w.f.WriteAt(journalSuperblock(blocks, w.uuid), int64(j.runs[0].start)*blockSize); err != nil {
		return fmt.Errorf("make the journal: %w", err)
	}
	return nil
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// Exists says whether p is in the filesystem.
func (w *Writer) Exists(p string) bool {
	_, ok := w.paths[clean(p)]
	return ok
}

// Mkdir makes a directory, or sets an existing one's mode, owner and time:
// a tarball may list a directory after what it holds.
func (w *Writer) Mkdir(p string, m Meta) error {
	p = clean(p)
	if n, ok := w.paths[p]; ok {
		if !n.isDir() {
			return fmt.Errorf("mkdir /%s: %w: not a directory", p, fs.ErrExist)
		}
		n.setMeta(modeDir, m)
		return nil
	}
	_, err := w.add(p, modeDir, m)
	return err
}

// WriteFile adds a regular file of size bytes read from r.
func (w *Writer) WriteFile(p string, r io.Reader, size int64, m Meta) error {
	if size < 0 {
		return fmt.Errorf("write /%s: negative size %d", clean(p), size)
	}
	n, err := w.add(clean(p), modeFile, m)
	if err != nil {
		return err
	}
	n.size = uint64(size)
	if err := w.place(n, blocksFor(size)); err != nil {
		return fmt.Errorf("write /%s: %w", clean(p), err)
	}
	if err := w.fill(n, r, size); err != nil {
		return fmt.Errorf("write /%s: %w", clean(p), err)
	}
	return nil
}

// Symlink adds a symbolic link to target.
func (w *Writer) Symlink(target, p string, m Meta) error {
	if len(target) == 0 || len(target) >= blockSize {
		return fmt.Errorf("symlink /%s: a target of %d bytes; it must have 1 to %d", clean(p), len(target), blockSize-1)
	}
	m.Mode = 0o777
	n, err := w.add(clean(p), modeSymlink, m)
	if err != nil {
		return err
	}
	n.size = uint64(len(target))
	if len(target) < inlineLimit {
		n.inline = []byte(target)
		return nil
	}
	if err := w.place(n, 1); err != nil {
		return fmt.Errorf("symlink /%s: %w", clean(p), err)
	}
	return w.fill(n, strings.NewReader(target), int64(len(target)))
}

// Link adds p as another name of the file existing: a hard link.
func (w *Writer) Link(existing, p string) error {
	n, ok := w.paths[clean(existing)]
	switch {
	case !ok:
		return fmt.Errorf("link /%s to /%s: %w", clean(p), clean(existing), fs.ErrNotExist)
	case n.isDir():
		return fmt.Errorf("link /%s to /%s: a directory cannot be hard-linked", clean(p), clean(existing))
	case n.links == 0xFFFF:
		return fmt.Errorf("link /%s to /%s: too many links", clean(p), clean(existing))
	}
	parent, name, err := w.parentOf(clean(p))
	if err != nil {
		return err
	}
	parent.children = append(parent.children, dirent{name, n})
	n.links++
	w.paths[clean(p)] = n
	return nil
}

// add makes a new inode of type typ at p.
func (w *Writer) add(p string, typ uint16, m Meta) (*node, error) {
	if p == "" {
		return nil, fmt.Errorf("the root exists: %w", fs.ErrExist)
	}
	if _, ok := w.paths[p]; ok {
		return nil, fmt.Errorf("/%s: %w", p, fs.ErrExist)
	}
	parent, name, err := w.parentOf(p)
	if err != nil {
		return nil, err
	}
	if uint32(len(w.nodes)) >= w.geo.inodes() {
		return nil, fmt.Errorf("/%s: %w: all %d inodes are used", p, ErrNoSpace, w.geo.inodes()-firstIno)
	}
	n := &node{ino: uint32(len(w.nodes)), parent: parent, links: 1}
	n.setMeta(typ, m)
	w.nodes = append(w.nodes, n)
	parent.children = append(parent.children, dirent{name, n})
	w.paths[p] = n
	return n, nil
}

// parentOf is p's directory, made if missing, and p's last element.
func (w *Writer) parentOf(p string) (*node, string, error) {
	dir, name := path.Split(p)
	if len(name) > 255 {
		return nil, "", fmt.Errorf("/%s: a name of %d bytes; ext4 allows 255", p, len(name))
	}
	dir = strings.TrimSuffix(dir, "/")
	if n, ok := w.paths[dir]; ok {
		if !n.isDir() {
			return nil, "", fmt.Errorf("/%s: /%s is not a directory", p, dir)
		}
		return n, name, nil
	}
	n, err := w.add(dir, modeDir, Meta{Mode: 0o755})
	return n, name, err
}

// place gives n count blocks, and the extent tree blocks it needs.
func (w *Writer) place(n *node, count uint32) error {
	runs, err := w.alloc(count)
	if err != nil {
		return err
	}
	n.runs = runs
	if len(runs) <= inodeExtents {
		return nil
	}
	leaves := (uint32(len(runs)) + leafExtents - 1) / leafExtents
	if leaves > inodeExtents {
		return fmt.Errorf("%w: a file in %d pieces", ErrNoSpace, len(runs))
	}
	leafRuns, err := w.alloc(leaves)
	if err != nil {
		return err
	}
	for _, r := range leafRuns {
		for b := range r.len {
			n.leaves = append(n.leaves, r.start+b)
		}
	}
	for i, b := range n.leaves {
		chunk := runs[i*leafExtents : min(len(runs), (i+1)*leafExtents)]
		if _, err := w.f.WriteAt(leafBlock(chunk, firstLogical(runs, i*leafExtents)), int64(b)*blockSize); err != nil {
			return err
		}
	}
	return nil
}

// alloc hands out count blocks in order, as runs that stop where a group's
// metadata starts.
func (w *Writer) alloc(count uint32) ([]run, error) {
	var runs []run
	for count > 0 {
		group := w.next / blocksPerGroup
		if group >= w.geo.groups {
			return nil, fmt.Errorf("%w: all %d blocks are used", ErrNoSpace, w.geo.blocks)
		}
		if data := w.geo.groupStart(group) + w.geo.metaBlocks(group); w.next < data {
			w.next = data
		}
		end := w.geo.groupStart(group) + w.geo.groupBlocks(group)
		if w.next >= end {
			w.next = w.geo.groupStart(group + 1)
			continue
		}
		n := min(count, end-w.next, maxExtentLen)
		if len(runs) > 0 && runs[len(runs)-1].start+runs[len(runs)-1].len == w.next && runs[len(runs)-1].len+n <= maxExtentLen {
			runs[len(runs)-1].len += n
		} else {
			runs = append(runs, run{w.next, n})
		}
		w.next += n
		count -= n
	}
	return runs, nil
}

// fill writes size bytes of r into n's blocks, in large writes.
func (w *Writer) fill(n *node, r io.Reader, size int64) error {
	for _, ru := range n.runs {
		off := int64(ru.start) * blockSize
		left := min(size, int64(ru.len)*blockSize)
		size -= left
		for left > 0 {
			chunk := w.buf[:min(left, int64(len(w.buf)))]
			if _, err := io.ReadFull(r, chunk); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			if _, err := w.f.WriteAt(chunk, off); err != nil {
				return err
			}
			off += int64(len(chunk))
			left -= int64(len(chunk))
		}
	}
	return nil
}

func blocksFor(size int64) uint32 { return uint32((size + blockSize - 1) / blockSize) }

// Close writes the directories, inodes, bitmaps, descriptors and
// superblocks. It does not close the file.
func (w *Writer) Close() error {
	for _, n := range w.nodes {
		if n == nil || !n.isDir() {
			continue
		}
		data := dirBlocks(n)
		n.size = uint64(len(data))
		if err := w.place(n, uint32(len(data)/blockSize)); err != nil {
			return fmt.Errorf("write directories: %w", err)
		}
		if err := w.fill(n, bytes.NewReader(data), int64(len(data))); err != nil {
			return fmt.Errorf("write directories: %w", err)
		}
	}
	return w.writeMetadata()
}

func randomUUID() [16]byte {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0F | 0x40 // version 4
	u[8] = u[8]&0x3F | 0x80
	return u
}
