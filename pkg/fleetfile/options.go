package fleetfile

import "os"

// Option changes where Parse and Load get what a fleet file refers to
// beyond its own content: the files it names and the environment.
type Option func(*sources)

// WithReadFile reads files with read instead of os.ReadFile: the fleet
// file itself (Load) and the env files it names. read must return an
// error satisfying errors.Is(err, fs.ErrNotExist) for a missing file, so
// that env_file's required: false can tell it apart.
func WithReadFile(read func(path string) ([]byte, error)) Option {
	return func(s *sources) { s.readFile = read }
}

// WithLookupEnv takes the value of a bare KEY line in an env file from
// lookup instead of os.LookupEnv, the environment of the parsing process.
func WithLookupEnv(lookup func(key string) (string, bool)) Option {
	return func(s *sources) { s.lookupEnv = lookup }
}

// sources is what the parser reads besides the fleet file's content.
type sources struct {
	readFile  func(path string) ([]byte, error)
	lookupEnv func(key string) (string, bool)
}

func newSources(opts []Option) sources {
	s := sources{readFile: os.ReadFile, lookupEnv: os.LookupEnv}
	for _, o := range opts {
		o(&s)
	}
	return s
}
