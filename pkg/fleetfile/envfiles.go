package fleetfile

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"

	"go.yaml.in/yaml/v3"

	"github.com/vmfleet/vmfleet/pkg/envfile"
)

// envFileRef is one entry of a service's env_file.
type envFileRef struct {
	path     string // resolved against the fleet file's directory
	written  string // as the fleet file gives it, for the fix
	required bool
	long     bool // written as {path: ...}
	n        *yaml.Node
	at       string
}

// envFile is an env file as read. vars is nil when the file is missing
// or could not be used; its problems are reported on the first read.
type envFile struct {
	vars    map[string]string
	missing bool
}

// envFileList reads env_file as compose writes it: one file, or a list of
// files and {path, required} maps. Later files override earlier ones.
func (p *parser) envFileList(e entry, at string) map[string]string {
	var refs []envFileRef
	switch {
	case e.val.Kind == yaml.ScalarNode && !isNull(e.val):
		refs = p.appendEnvFileRef(refs, e, at)
	case e.val.Kind == yaml.SequenceNode:
		for i, n := range e.val.Content {
			if n = deref(n); n != nil {
				refs = p.appendEnvFileRef(refs, entry{key: n, val: n}, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	default:
		p.wrongType(e, at, "an env file or a list of them", "./app.env")
	}
	env := map[string]string{}
	for _, r := range refs {
		maps.Copy(env, p.readEnvFile(r))
	}
	return env
}

// appendEnvFileRef reads one entry, short (a path) or long ({path: ...,
// required: false}), and appends it to refs unless it is bad.
func (p *parser) appendEnvFileRef(refs []envFileRef, e entry, at string) []envFileRef {
	const example = "./app.env"
	r := envFileRef{required: true, n: e.val, at: at}
	pathEntry := e
	if e.val.Kind == yaml.MappingNode {
		fields, _ := p.fields(e, at, "{path: ./app.env, required: false}", []string{"path", "required"}, nil)
		if re, ok := fields["required"]; ok {
			v, ok := p.boolean(re, at+".required", "false")
			if !ok {
				return refs
			}
			r.required = v
		}
		pe, ok := fields["path"]
		if !ok {
			p.fail(e.val, at+".path", "add path: "+example, "path is missing")
			return refs
		}
		pathEntry, r.at, r.n, r.long = pe, at+".path", pe.val, true
	}
	if r.path = p.hostPath(pathEntry, r.at, example); r.path == "" {
		return refs
	}
	r.written = pathEntry.val.Value
	return append(refs, r)
}

// readEnvFile returns r's variables, reading the file on its first use.
func (p *parser) readEnvFile(r envFileRef) map[string]string {
	f, seen := p.envFiles[r.path]
	if !seen {
		f = p.loadEnvFile(r)
		p.envFiles[r.path] = f
	}
	if f.missing && r.required {
		fix := fmt.Sprintf("create it, or write {path: %s, required: false} to make it optional", r.written)
		if r.long {
			fix = "create it, or add required: false to make it optional"
		}
		p.fail(r.n, r.at, fix, "env file %s does not exist", r.path)
	}
	return f.vars
}

func (p *parser) loadEnvFile(r envFileRef) envFile {
	data, err := p.src.readFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return envFile{missing: true}
	}
	if err != nil {
		p.fail(r.n, r.at, "check that the file is readable", "cannot read env file: %v", err)
		return envFile{}
	}
	vars, err := envfile.Parse(r.path, data, p.src.lookupEnv)
	if err != nil {
		p.envFileErrors(err)
		return envFile{}
	}
	return envFile{vars: vars}
}

// envFileErrors adds an env file's errors as they are: they name the env
// file and its line, not the fleet file.
func (p *parser) envFileErrors(err error) {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, err := range list {
		var e *envfile.Error
		if errors.As(err, &e) {
			p.errs = append(p.errs, &Error{File: e.File, Line: e.Line, Msg: e.Msg, Fix: e.Fix})
		} else {
			p.errs = append(p.errs, &Error{File: p.file, Msg: err.Error()})
		}
	}
}
