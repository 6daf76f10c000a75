package dashboard

import "time"

// terminated is the lifecycle state of an instance gone from its group,
// as EC2 lists one for a while after it goes.
const terminated = "Terminated"

// ghostFor is how long a terminated instance stays on the page: long
// enough for a room to see which one went.
const ghostFor = 10 * time.Second

// ghosts keeps each instance that left a group on the page for a while,
// as Terminated: a killed instance is removed within a second or two,
// often between two looks. Only Run's goroutine uses it.
type ghosts struct {
	last map[string]placed // the tiles of the view before
	gone map[string]ghost
}

type placed struct {
	key  string // fleet/service
	tile tile
}

type ghost struct {
	placed
	until time.Time
}

func newGhosts() *ghosts {
	return &ghosts{last: map[string]placed{}, gone: map[string]ghost{}}
}

// apply adds to v the instances gone from it lately; v's tile slices are
// its own, fresh from buildView.
func (g *ghosts) apply(now time.Time, v view) view {
	seen := map[string]placed{}
	for _, f := range v.Fleets {
		for _, s := range f.Services {
			for _, t := range s.Tiles {
				seen[t.ID] = placed{key: s.Key(), tile: t}
			}
		}
	}
	for id, p := range g.last {
		if _, ok := seen[id]; !ok && !p.tile.Launching {
			p.tile = tile{ID: id, Phase: terminated, Health: "-", Reason: p.tile.Reason}
			g.gone[id] = ghost{placed: p, until: now.Add(ghostFor)}
		}
	}
	g.last = seen
	for id, gh := range g.gone {
		if _, back := seen[id]; back || now.After(gh.until) {
			delete(g.gone, id)
		}
	}
	for fi := range v.Fleets {
		for si := range v.Fleets[fi].Services {
			s := &v.Fleets[fi].Services[si]
			for _, gh := range g.gone {
				if gh.key == s.Key() {
					s.Tiles = append(s.Tiles, gh.tile)
				}
			}
			sortTiles(s.Tiles)
		}
	}
	return v
}
