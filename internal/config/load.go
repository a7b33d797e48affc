package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is a loaded and validated configuration: the platform settings
// with defaults applied, and every tenant route with its effective limits.
// It is immutable once Load returns; a reload builds a new one.
type Config struct {
	// Dir is where the configuration was loaded from, as given.
	Dir      string
	Platform Platform
	// Routes holds every tenant route, ordered by tenant then file order.
	Routes []*Route
	// Networks holds each tenant's network declarations, by tenant.
	Networks map[string]TenantNetwork

	sources map[string]*source
	fsys    fs.FS
}

// Route is one tenant route with the platform's defaults filled in.
type Route struct {
	ID     string // tenant/name
	Tenant string
	Name   string
	// File and Line locate the route's declaration; Source and Field are
	// the file relative to the configuration directory and the route's
	// field path in it ("routes[2]"), for Config.Errorf.
	File   string
	Line   int
	Source string
	Field  string

	Hosts           []string
	Paths           []string
	Backends        []*url.URL
	MaxBodySize     int64
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration
	WAF             RouteWAFPolicy
	// RateLimit is the route's effective per-client limit; Challenge is
	// off, suspicious or always.
	RateLimit RouteLimit
	Challenge string
}

// PlatformFile and TenantDir are the names Load looks for.
const (
	PlatformFile = "platform.yaml"
	TenantDir    = "tenants"
)

// LoadDir loads the configuration in directory dir.
func LoadDir(dir string) (*Config, error) { return Load(os.DirFS(dir), dir) }

// Load reads platform.yaml and tenants/*.yaml from fsys, applies defaults,
// and checks every rule of the schema and of authority. The error, if any,
// is an Errors listing every problem found, each located by file, line and
// field; label is the directory name used in those messages.
func Load(fsys fs.FS, label string) (*Config, error) {
	var errs Errors
	c := &Config{Dir: label, Platform: DefaultPlatform(), sources: map[string]*source{}, fsys: fsys}
	psrc := c.source(PlatformFile, &errs)
	data, err := fs.ReadFile(fsys, PlatformFile)
	if err != nil {
		psrc.errorf("", "cannot read: %v", unwrapPathError(err))
		return nil, errs
	}
	parseFile(psrc, data, &c.Platform, nil)
	if len(errs) > 0 {
		// Tenant files are judged against the registry and bounds; with a
		// broken platform file they would only produce noise.
		errs.sort()
		return nil, errs
	}
	validatePlatform(psrc, &c.Platform)
	owners := validateRegistry(psrc, c.Platform.Tenants)
	c.loadTenants(fsys, owners, &errs)
	if len(errs) == 0 {
		c.validateEnforceNow(psrc)
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return c, nil
}

func (c *Config) source(name string, errs *Errors) *source {
	s := newSource(filepath.Join(c.Dir, filepath.FromSlash(name)), name, errs)
	c.sources[name] = s
	return s
}

// loadTenants reads every tenants/*.yaml, in name order so that errors and
// conflicts are reported the same way on every run.
func (c *Config) loadTenants(fsys fs.FS, owners hostOwners, errs *Errors) {
	entries, err := fs.ReadDir(fsys, TenantDir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.source(TenantDir, errs).errorf("", "cannot read directory: %v", unwrapPathError(err))
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	claims := map[string]claim{}
	seen := map[string]string{}
	nets := map[string]*tenantNetFile{}
	defer func() {
		if len(*errs) == 0 {
			c.validateTenantNetworks(nets)
			c.Networks = map[string]TenantNetwork{}
			for t, f := range nets {
				c.Networks[t] = f.net
			}
		}
	}()
	for _, e := range entries {
		ext := path.Ext(e.Name())
		name := path.Join(TenantDir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue // .gitkeep and editor files
		}
		src := c.source(name, errs)
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			// A tenant's routes silently vanishing because its file was
			// misnamed is worse than refusing the directory.
			src.errorf("", "not a tenant file: %s/ holds only <tenant>.yaml files", TenantDir)
			continue
		}
		stem := strings.TrimSuffix(e.Name(), ext)
		if other, dup := seen[stem]; dup {
			src.errorf("", "tenant %q already has a file, %s; keep one", stem, other)
			continue
		}
		seen[stem] = src.name
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			src.errorf("", "cannot read: %v", unwrapPathError(err))
			continue
		}
		var tf TenantFile
		before := len(*errs)
		parseFile(src, data, &tf, platformOnly)
		if len(*errs) > before {
			continue
		}
		c.Routes = append(c.Routes, c.tenantRoutes(src, stem, &tf, owners, claims)...)
		nets[stem] = &tenantNetFile{src: src, net: tf.Network}
	}
}

// claim records which route first took a host+path, to name both sides of
// a conflict.
type claim struct {
	route string
	file  string
	pos   pos
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Errorf returns an *Error located at field of file (a name relative to the
// configuration directory, such as "platform.yaml"), for checks made after
// Load, such as loading the certificates the configuration names.
func (c *Config) Errorf(file, field, format string, args ...any) *Error {
	var errs Errors
	src, ok := c.sources[file]
	if !ok {
		src = newSource(filepath.Join(c.Dir, file), file, &errs)
	}
	p := src.lookup(field)
	return &Error{File: src.name, Line: p.line, Col: p.col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Path resolves a file name from the configuration (a certificate, say):
// relative names are relative to the configuration directory.
func (c *Config) Path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(c.Dir, name)
}

// ReadFile reads a file the configuration names (a WAF rule file) from the
// configuration directory.
func (c *Config) ReadFile(name string) ([]byte, error) {
	return fs.ReadFile(c.fsys, path.Clean(filepathToSlash(name)))
}

// Sub returns a directory of the configuration (a candidate rules
// directory) as a file system.
func (c *Config) Sub(dir string) (fs.FS, error) {
	return fs.Sub(c.fsys, path.Clean(filepathToSlash(dir)))
}

func filepathToSlash(name string) string { return filepath.ToSlash(name) }

// Files lists the configuration's files, relative to its directory, in
// name order: platform.yaml and the tenant files.
func (c *Config) Files() []string {
	out := make([]string, 0, len(c.sources))
	for name := range c.sources {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Line is the line of field in file (relative to the configuration
// directory), or of its nearest parent the file sets; 0 when the file sets
// neither (the field is a default) or is not one of the configuration's.
func (c *Config) Line(file, field string) int {
	if src, ok := c.sources[file]; ok {
		p, _ := src.nearest(field)
		return p.line
	}
	return 0
}
