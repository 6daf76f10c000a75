package store

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesAFileOnlyItsOwnerCanRead(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("state file mode %v, want 0600", mode)
	}
}

func TestASecondOpenFailsFastSayingAnotherProcessHoldsTheStore(t *testing.T) {
	first, path := openTemp(t)
	start := time.Now()
	second, err := Open(path, WithLockTimeout(100*time.Millisecond))
	took := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of a held store succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another process holds the store") {
		t.Errorf("second Open: %v, want an error saying another process holds the store", err)
	}
	if took > time.Second {
		t.Errorf("second Open took %v with a 100ms lock timeout", took)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path, WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	again.Close()
}

func TestUpdateKeepsNothingWhenItsFuncFails(t *testing.T) {
	s, _ := openTemp(t)
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx *Tx) error {
		for _, put := range []error{
			tx.PutImage(&Image{Name: "web", Digest: testDigest}),
			tx.PutTargetGroup(&TargetGroup{Name: "web"}),
			tx.PutFleet(&Fleet{Name: "shop", Groups: []string{"shop-web"}}),
			tx.PutGroup(&Group{Name: "shop-web", Fleet: "shop", Desired: 2}),
		} {
			if put != nil {
				return put
			}
		}
		if _, _, err := tx.CreateLaunchTemplateVersion("web", LaunchTemplateVersion{CPU: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the func's error", err)
	}
	view(t, s, func(tx *Tx) error {
		imgs, _ := tx.ListImages()
		tgs, _ := tx.ListTargetGroups()
		fls, _ := tx.ListFleets()
		grs, _ := tx.ListGroups()
		lts, _ := tx.ListLaunchTemplates()
		if n := len(imgs) + len(tgs) + len(fls) + len(grs) + len(lts); n != 0 {
			t.Errorf("a failed Update left %d records: %v %v %v %v %v", n, imgs, tgs, fls, grs, lts)
		}
		if _, err := tx.LaunchTemplateVersion("web", 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("a failed Update left launch template version 1 (err %v)", err)
		}
		return nil
	})
}

func TestACancelledContextStopsViewAndUpdateBeforeTheyTouchTheStore(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	fn := func(tx *Tx) error { ran = true; return tx.PutFleet(&Fleet{Name: "shop"}) }
	// A closed store fails every transaction it starts; the context error
	// shows none was started.
	s.Close()
	if err := s.Update(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context: %v, want context.Canceled", err)
	}
	if err := s.View(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("View with a cancelled context: %v, want context.Canceled", err)
	}
	if ran {
		t.Error("a func ran under a cancelled context")
	}
}

func TestWritesInAViewFail(t *testing.T) {
	s, _ := openTemp(t)
	err := s.View(context.Background(), func(tx *Tx) error {
		return tx.PutFleet(&Fleet{Name: "shop"})
	})
	if err == nil {
		t.Fatal("PutFleet inside View succeeded")
	}
}
