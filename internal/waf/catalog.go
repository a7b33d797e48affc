package waf

import (
	"io/fs"
	"regexp"
	"strconv"
	"sync"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
)

// Catalog is the set of rule IDs and tags that exist, so an exception
// naming a rule that does not exist (a typo, a rule removed in a CRS
// upgrade) is refused instead of silently doing nothing.
type Catalog struct {
	IDs  map[int]bool
	Tags map[string]bool
}

var (
	idRE  = regexp.MustCompile(`\bid:\s*'?(\d+)`)
	tagRE = regexp.MustCompile(`\btag:\s*'([^']+)'`)

	crsOnce    sync.Once
	crsCatalog *Catalog
)

// CRSCatalog returns the rule IDs and tags of the embedded CRS.
func CRSCatalog() *Catalog {
	crsOnce.Do(func() {
		c := &Catalog{IDs: map[int]bool{}, Tags: map[string]bool{}}
		files, _ := fs.Glob(coreruleset.FS, "@owasp_crs/*.conf")
		for _, f := range files {
			data, err := fs.ReadFile(coreruleset.FS, f)
			if err == nil {
				c.add(string(data))
			}
		}
		crsCatalog = c
	})
	return crsCatalog
}

// With returns the catalog extended with the rules in extra SecLang files.
func (c *Catalog) With(files []RuleFile) *Catalog {
	out := &Catalog{IDs: map[int]bool{}, Tags: map[string]bool{}}
	for id := range c.IDs {
		out.IDs[id] = true
	}
	for t := range c.Tags {
		out.Tags[t] = true
	}
	for _, f := range files {
		out.add(f.Content)
	}
	return out
}

func (c *Catalog) add(seclang string) {
	for _, m := range idRE.FindAllStringSubmatch(seclang, -1) {
		if id, err := strconv.Atoi(m[1]); err == nil {
			c.IDs[id] = true
		}
	}
	for _, m := range tagRE.FindAllStringSubmatch(seclang, -1) {
		c.Tags[m[1]] = true
	}
}
