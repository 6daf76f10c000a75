package ext4

import (
	"encoding/binary"
	"fmt"
	"io/fs"
)

const (
	modeFile    = 0x8000
	modeDir     = 0x4000
	modeSymlink = 0xA000
	modeType    = 0xF000

	extentsFlag  = 0x80000
	extentMagic  = 0xF30A
	inodeExtents = 4                     // extents i_block holds
	leafExtents  = (blockSize - 12) / 12 // extents a leaf block holds
	maxExtentLen = 32768                 // blocks one extent covers
	inlineLimit  = 60                    // symlink targets shorter than this live in the inode
	extraIsize   = 32                    // the inode's bytes past the first 128 it uses
)

// node is one inode: a file, directory or symlink, and its names.
type node struct {
	ino      uint32
	mode     uint16 // type and permission bits as ext4 stores them
	uid, gid uint32
	mtime    uint32
	size     uint64
	links    uint16   // names a file has; directories count theirs when written
	runs     []run    // data blocks
	leaves   []uint32 // extent tree leaf blocks, when runs do not fit the inode
	inline   []byte   // a short symlink's target
	parent   *node
	children []dirent
}

type run struct{ start, len uint32 }

type dirent struct {
	name string
	n    *node
}

func (n *node) isDir() bool { return n.mode&modeType == modeDir }

func (n *node) setMeta(typ uint16, m Meta) {
	perm := uint16(m.Mode.Perm())
	if m.Mode&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if m.Mode&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if m.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	n.mode = typ | perm
	n.uid, n.gid = uint32(m.Uid), uint32(m.Gid)
	if s := m.Mtime.Unix(); s > 0 && !m.Mtime.IsZero() {
		n.mtime = uint32(min(s, 1<<32-1))
	}
}

// fileType is the type byte a directory entry carries.
func (n *node) fileType() uint8 {
	switch n.mode & modeType {
	case modeDir:
		return 2
	case modeSymlink:
		return 7
	}
	return 1
}

// dirBlocks encodes a directory's entries: ".", "..", then its children in
// the order they were added, each block's last entry stretched to its end.
func dirBlocks(n *node) []byte {
	entries := append([]dirent{{".", n}, {"..", n.parent}}, n.children...)
	var out []byte
	block := make([]byte, blockSize)
	used, last := 0, 0 // bytes of the block taken; offset of its last entry
	le := binary.LittleEndian
	flush := func() {
		le.PutUint16(block[last+4:], uint16(blockSize-last))
		out = append(out, block...)
		clear(block)
		used = 0
	}
	for _, e := range entries {
		need := (8 + len(e.name) + 3) &^ 3
		if used+need > blockSize {
			flush()
		}
		last, used = used, used+need
		le.PutUint32(block[last:], e.n.ino)
		le.PutUint16(block[last+4:], uint16(need))
		block[last+6] = uint8(len(e.name))
		block[last+7] = e.n.fileType()
		copy(block[last+8:], e.name)
	}
	flush()
	return out
}

// encode is the inode's 256 bytes.
func (n *node) encode() []byte {
	b := make([]byte, inodeSize)
	le := binary.LittleEndian
	le.PutUint16(b[0x00:], n.mode)
	le.PutUint16(b[0x02:], uint16(n.uid))
	le.PutUint32(b[0x04:], uint32(n.size))
	for _, off := range []int{0x08, 0x0C, 0x10} { // atime, ctime, mtime
		le.PutUint32(b[off:], n.mtime)
	}
	le.PutUint16(b[0x18:], uint16(n.gid))
	le.PutUint16(b[0x1A:], n.links)
	blocks := uint64(len(n.leaves))
	for _, r := range n.runs {
		blocks += uint64(r.len)
	}
	le.PutUint32(b[0x1C:], uint32(blocks*blockSize/512))
	le.PutUint16(b[0x74:], uint16(blocks*blockSize/512>>32))
	le.PutUint32(b[0x6C:], uint32(n.size>>32))
	le.PutUint16(b[0x78:], uint16(n.uid>>16))
	le.PutUint16(b[0x7A:], uint16(n.gid>>16))
	le.PutUint16(b[0x80:], extraIsize)
	if n.inline != nil {
		copy(b[0x28:0x28+inlineLimit], n.inline)
		return b
	}
	le.PutUint32(b[0x20:], extentsFlag)
	iblock := b[0x28 : 0x28+inlineLimit]
	if len(n.runs) <= inodeExtents {
		putExtents(iblock, n.runs, 0, inodeExtents)
		return b
	}
	// One level of index: an entry for each leaf, which holds the extents.
	putHeader(iblock, len(n.leaves), inodeExtents, 1)
	for i, leaf := range n.leaves {
		e := iblock[12+12*i:]
		le.PutUint32(e[0:], firstLogical(n.runs, i*leafExtents))
		le.PutUint32(e[4:], leaf)
	}
	return b
}

func putHeader(b []byte, entries, capacity, depth int) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], extentMagic)
	le.PutUint16(b[2:], uint16(entries))
	le.PutUint16(b[4:], uint16(capacity))
	le.PutUint16(b[6:], uint16(depth))
}

// putExtents writes an extent tree leaf: a header and one extent a run,
// the first covering logical block first.
func putExtents(b []byte, runs []run, first uint32, capacity int) {
	putHeader(b, len(runs), capacity, 0)
	le := binary.LittleEndian
	for i, r := range runs {
		e := b[12+12*i:]
		le.PutUint32(e[0:], first)
		le.PutUint16(e[4:], uint16(r.len))
		le.PutUint32(e[8:], r.start)
		first += r.len
	}
}

func leafBlock(runs []run, first uint32) []byte {
	b := make([]byte, blockSize)
	putExtents(b, runs, first, leafExtents)
	return b
}

// firstLogical is the file block the run at index i starts.
func firstLogical(runs []run, i int) uint32 {
	var n uint32
	for _, r := range runs[:i] {
		n += r.len
	}
	return n
}

// writeMetadata writes the inode tables, bitmaps, descriptors and every
// copy of the superblock, once the blocks are all handed out.
func (w *Writer) writeMetadata() error {
	g := w.geo
	for _, n := range w.nodes {
		if n != nil && n.isDir() {
			n.links = 2
			for _, c := range n.children {
				if c.n.isDir() {
					n.links++
				}
			}
		}
	}
	used := uint32(len(w.nodes) - 1) // inodes 1 to the last handed out
	freeBlocks := make([]uint32, g.groups)
	freeInodes := make([]uint32, g.groups)
	dirs := make([]uint32, g.groups)
	var totalFreeBlocks, totalFreeInodes uint32
	for i := range g.groups {
		start := g.groupStart(i)
		usedBlocks := g.metaBlocks(i)
		if w.next > start+usedBlocks {
			usedBlocks = min(w.next-start, g.groupBlocks(i))
		}
		freeBlocks[i] = g.groupBlocks(i) - usedBlocks
		bitmap := make([]byte, blockSize)
		setBits(bitmap, 0, usedBlocks)
		setBits(bitmap, g.groupBlocks(i), blocksPerGroup) // past the end of the filesystem
		if _, err := w.f.WriteAt(bitmap, int64(g.blockBitmap(i))*blockSize); err != nil {
			return fmt.Errorf("write block bitmap: %w", err)
		}

		first := i * g.inodesPerGroup // inodes first+1 ... of this group
		usedInodes := min(g.inodesPerGroup, max(used, first)-first)
		freeInodes[i] = g.inodesPerGroup - usedInodes
		bitmap = make([]byte, blockSize)
		setBits(bitmap, 0, usedInodes)
		setBits(bitmap, g.inodesPerGroup, blocksPerGroup)
		if _, err := w.f.WriteAt(bitmap, int64(g.inodeBitmap(i))*blockSize); err != nil {
			return fmt.Errorf("write inode bitmap: %w", err)
		}
		if usedInodes > 0 {
			table := make([]byte, usedInodes*inodeSize)
			for j := range usedInodes {
				if n := w.nodes[first+j+1]; n != nil {
					copy(table[j*inodeSize:], n.encode())
					if n.isDir() {
						dirs[i]++
					}
				}
			}
			if _, err := w.f.WriteAt(table, int64(g.inodeTable(i))*blockSize); err != nil {
				return fmt.Errorf("write inode table: %w", err)
			}
		}
		totalFreeBlocks += freeBlocks[i]
		totalFreeInodes += freeInodes[i]
	}
	gdt := g.descriptors(freeBlocks, freeInodes, dirs)
	for i := range g.groups {
		if !hasSuper(i) {
			continue
		}
		sb := g.superblock(i, totalFreeBlocks, totalFreeInodes, w.uuid, w.label, w.nodes[journalIno].encode())
		off := int64(g.groupStart(i)) * blockSize
		if i == 0 {
			off = 1024 // after the boot sector's space
		}
		if _, err := w.f.WriteAt(sb, off); err != nil {
			return fmt.Errorf("write superblock: %w", err)
		}
		if _, err := w.f.WriteAt(gdt, int64(g.groupStart(i)+1)*blockSize); err != nil {
			return fmt.Errorf("write group descriptors: %w", err)
		}
	}
	return nil
}

// setBits sets bits from to to (exclusive) of a bitmap block.
func setBits(b []byte, from, to uint32) {
	for i := from; i < to && i < blockSize*8; i++ {
		b[i/8] |= 1 << (i % 8)
	}
}
