package store

import "fmt"

// GetImage returns the image called name.
func (tx *Tx) GetImage(name string) (Image, error) { return images().get(tx, name) }

// PutImage stores img under its name, setting its ID from its digest and
// its Created time to now if it has none.
func (tx *Tx) PutImage(img *Image) error {
	id, err := ImageID(img.Digest)
	if err != nil {
		return fmt.Errorf("put image %q: %w", img.Name, err)
	}
	img.ID = id
	if img.Created.IsZero() {
		img.Created = now()
	}
	img.Created = img.Created.UTC()
	return images().put(tx, *img)
}

// DeleteImage removes the image called name.
func (tx *Tx) DeleteImage(name string) error { return images().del(tx, name) }

// ListImages returns every image, sorted by name.
func (tx *Tx) ListImages() ([]Image, error) { return images().list(tx) }
