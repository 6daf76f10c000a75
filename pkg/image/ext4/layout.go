// Package ext4 writes an ext4 filesystem image in one pass, as a bake
// needs it: files are streamed into place as they come (from a tarball or
// the host), kept in memory as a tree, and the metadata is written when
// the image is closed. Nothing is ever removed or rewritten, so the writer
// needs no free-space search and no directory re-reads: that is what made
// a general-purpose library slow for root filesystems of thousands of
// files.
//
// The filesystem has 4 KiB blocks, 256-byte inodes, extents, sparse
// superblock backups and an empty journal (its blocks stay holes in the
// image file until the guest writes them). It passes e2fsck -fn.
package ext4

import (
	"encoding/binary"
	"fmt"
)

const (
	blockSize      = 4096
	blocksPerGroup = 8 * blockSize // what one block bitmap covers
	inodeSize      = 256
	inodesPerBlock = blockSize / inodeSize
	descSize       = 32
	rootIno        = 2
	journalIno     = 8
	lostFoundIno   = 11
	firstIno       = 11 // inodes below are reserved
)

// Feature flags the filesystem has.
const (
	compatHasJournal = 0x4
	incompatFiletype = 0x2
	incompatExtents  = 0x40
	roSparseSuper    = 0x1
	roLargeFile      = 0x2
	roExtraIsize     = 0x40
)

// geometry is how the blocks of a filesystem of a given size divide into
// groups, each with its bitmaps and inode table at its start.
type geometry struct {
	blocks         uint32
	groups         uint32
	inodesPerGroup uint32
	gdtBlocks      uint32
}

func newGeometry(size int64, inodes uint32) (geometry, error) {
	if size%blockSize != 0 || size < 8<<20 {
		return geometry{}, fmt.Errorf("filesystem size %d: want a multiple of %d of at least 8 MiB", size, blockSize)
	}
	if size/blockSize > 1<<32-1 {
		return geometry{}, fmt.Errorf("filesystem size %d: more than 16 TiB", size)
	}
	g := geometry{blocks: uint32(size / blockSize)}
	g.groups = (g.blocks + blocksPerGroup - 1) / blocksPerGroup
	ipg := (max(inodes, 1) + g.groups - 1) / g.groups
	ipg = (ipg + inodesPerBlock - 1) / inodesPerBlock * inodesPerBlock
	g.inodesPerGroup = min(max(ipg, inodesPerBlock), blocksPerGroup)
	g.gdtBlocks = (g.groups*descSize + blockSize - 1) / blockSize
	// The last group must hold its own metadata and some data.
	if last := g.blocks - (g.groups-1)*blocksPerGroup; last < g.metaBlocks(g.groups-1)+16 {
		return geometry{}, fmt.Errorf("filesystem size %d leaves its last group of %d blocks no room; choose another size", size, last)
	}
	return g, nil
}

func (g geometry) inodes() uint32 { return g.groups * g.inodesPerGroup }

func (g geometry) inodeTableBlocks() uint32 { return g.inodesPerGroup / inodesPerBlock }

// hasSuper says whether a group holds a copy of the superblock and
// descriptors: groups 0 and 1 and the powers of 3, 5 and 7 (sparse_super).
func hasSuper(group uint32) bool {
	if group <= 1 {
		return true
	}
	for _, base := range []uint32{3, 5, 7} {
		n := base
		for n < group {
			n *= base
		}
		if n == group {
			return true
		}
	}
	return false
}

func (g geometry) groupStart(group uint32) uint32 { return group * blocksPerGroup }

func (g geometry) groupBlocks(group uint32) uint32 {
	return min(blocksPerGroup, g.blocks-g.groupStart(group))
}

// metaBlocks is how many blocks at a group's start its metadata takes.
func (g geometry) metaBlocks(group uint32) uint32 {
	n := 2 + g.inodeTableBlocks() // block and inode bitmaps, inode table
	if hasSuper(group) {
		n += 1 + g.gdtBlocks
	}
	return n
}

func (g geometry) blockBitmap(group uint32) uint32 {
	b := g.groupStart(group)
	if hasSuper(group) {
		b += 1 + g.gdtBlocks
	}
	return b
}

func (g geometry) inodeBitmap(group uint32) uint32 { return g.blockBitmap(group) + 1 }
func (g geometry) inodeTable(group uint32) uint32  { return g.blockBitmap(group) + 2 }

// superblock encodes the superblock as group's copy of it says; journal is
// the journal's inode, whose block map it keeps a backup of.
func (g geometry) superblock(group uint32, freeBlocks, freeInodes uint32, uuid [16]byte, label string, journal []byte) []byte {
	b := make([]byte, 1024)
	le := binary.LittleEndian
	le.PutUint32(b[0x00:], g.inodes())
	le.PutUint32(b[0x04:], g.blocks)
	le.PutUint32(b[0x0C:], freeBlocks)
	le.PutUint32(b[0x10:], freeInodes)
	le.PutUint32(b[0x14:], 0) // first data block: 0 with 4 KiB blocks
	le.PutUint32(b[0x18:], 2) // log2(block size) - 10
	le.PutUint32(b[0x1C:], 2)
	le.PutUint32(b[0x20:], blocksPerGroup)
	le.PutUint32(b[0x24:], blocksPerGroup)
	le.PutUint32(b[0x28:], g.inodesPerGroup)
	le.PutUint16(b[0x36:], 0xFFFF) // no mount-count checks
	le.PutUint16(b[0x38:], 0xEF53)
	le.PutUint16(b[0x3A:], 1) // cleanly unmounted
	le.PutUint16(b[0x3C:], 1) // on errors, continue
	le.PutUint32(b[0x4C:], 1) // dynamic inode sizes
	le.PutUint32(b[0x54:], firstIno)
	le.PutUint16(b[0x58:], inodeSize)
	le.PutUint16(b[0x5A:], uint16(group))
	le.PutUint32(b[0x5C:], compatHasJournal)
	le.PutUint32(b[0x60:], incompatFiletype|incompatExtents)
	le.PutUint32(b[0x64:], roSparseSuper|roLargeFile|roExtraIsize)
	copy(b[0x68:0x78], uuid[:])
	copy(b[0x78:0x88], label)
	le.PutUint32(b[0xE0:], journalIno)
	b[0xFD] = 1 // s_jnl_blocks holds a copy of the journal inode's blocks
	copy(b[0x10C:0x148], journal[0x28:0x64])
	le.PutUint32(b[0x148:], le.Uint32(journal[0x6C:])) // size, high and low
	le.PutUint32(b[0x14C:], le.Uint32(journal[0x04:]))
	le.PutUint16(b[0x15C:], extraIsize)
	le.PutUint16(b[0x15E:], extraIsize)
	return b
}

// descriptors encodes the group descriptor table.
func (g geometry) descriptors(freeBlocks, freeInodes, dirs []uint32) []byte {
	b := make([]byte, g.gdtBlocks*blockSize)
	le := binary.LittleEndian
	for i := range g.groups {
		d := b[i*descSize:]
		le.PutUint32(d[0x00:], g.blockBitmap(i))
		le.PutUint32(d[0x04:], g.inodeBitmap(i))
		le.PutUint32(d[0x08:], g.inodeTable(i))
		le.PutUint16(d[0x0C:], uint16(freeBlocks[i]))
		le.PutUint16(d[0x0E:], uint16(freeInodes[i]))
		le.PutUint16(d[0x10:], uint16(dirs[i]))
	}
	return b
}

// journalBlocks is the journal's size for a filesystem of blocks, about as
// mke2fs chooses it.
func journalBlocks(blocks uint32) uint32 {
	switch {
	case blocks < 32768:
		return 1024
	case blocks < 256*1024:
		return 4096
	case blocks < 512*1024:
		return 8192
	}
	return 16384
}

// journalSuperblock is the first block of an empty, clean journal of
// blocks blocks (jbd2 is big-endian).
func journalSuperblock(blocks uint32, uuid [16]byte) []byte {
	b := make([]byte, blockSize)
	be := binary.BigEndian
	be.PutUint32(b[0x00:], 0xC03B3998) // magic
	be.PutUint32(b[0x04:], 4)          // superblock, version 2
	be.PutUint32(b[0x0C:], blockSize)
	be.PutUint32(b[0x10:], blocks)
	be.PutUint32(b[0x14:], 1) // first log block
	be.PutUint32(b[0x18:], 1) // first transaction's sequence
	copy(b[0x30:0x40], uuid[:])
	be.PutUint32(b[0x40:], 1) // one filesystem uses it
	return b
}
