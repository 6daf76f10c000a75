package instance

import "testing"

func TestTheTranslationCacheIsItsDefaultUnlessTheEnvironmentAsksForLessThatFits(t *testing.T) {
	for env, want := range map[string]uint{"": tbCacheMiB, "16": 16, "1": 1, "64": 64, "0": tbCacheMiB, "65": tbCacheMiB, "1024": tbCacheMiB, "x": tbCacheMiB, "-8": tbCacheMiB} {
		t.Setenv("VMFLEET_TB_CACHE_MIB", env)
		if got := tbCache(); got != want {
			t.Errorf("VMFLEET_TB_CACHE_MIB=%q: %d MiB, want %d", env, got, want)
		}
	}
}
