package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference renders the configuration reference in Markdown from the
// schema itself: every field's path, type, default and the doc tag on its
// struct field. README.md embeds it, and a test keeps the two identical,
// so the documentation cannot drift from what the loader accepts.
func Reference() string {
	var b strings.Builder
	b.WriteString("#### `platform.yaml`\n\n| field | type | default | meaning |\n|---|---|---|---|\n")
	def := DefaultPlatform()
	refFields(&b, reflect.ValueOf(def), "")
	b.WriteString("\n#### `tenants/<tenant>.yaml`\n\n| field | type | default | meaning |\n|---|---|---|---|\n")
	refFields(&b, reflect.ValueOf(TenantFile{}), "")
	return b.String()
}

func refFields(b *strings.Builder, v reflect.Value, prefix string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		fv := v.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if _, scalar := reflect.New(ft).Interface().(scalarDecoder); !scalar {
			switch {
			case ft.Kind() == reflect.Struct:
				sv := fv
				if sv.Kind() == reflect.Pointer {
					sv = reflect.New(ft).Elem()
				}
				refFields(b, sv, path+".")
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				fmt.Fprintf(b, "| `%s` | list | %s | %s |\n", path, refDefault(fv), f.Tag.Get("doc"))
				refFields(b, reflect.New(ft.Elem()).Elem(), path+"[].")
				continue
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Pointer:
				fmt.Fprintf(b, "| `%s` | mapping of names | | %s |\n", path, f.Tag.Get("doc"))
				refFields(b, reflect.New(ft.Elem().Elem()).Elem(), path+".<name>.")
				continue
			case ft.Kind() == reflect.Map:
				fmt.Fprintf(b, "| `%s` | mapping of strings | | %s |\n", path, f.Tag.Get("doc"))
				continue
			}
		}
		doc := f.Tag.Get("doc")
		if strings.HasPrefix(path, "routes.bounds.") {
			doc = "The most a tenant may set as `routes[]." + name + "`."
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, refType(ft), refDefault(fv), doc)
	}
}

func refType(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(Duration(0)):
		return "duration"
	case reflect.TypeOf(ByteSize(0)):
		return "size"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "list of " + refType(t.Elem()) + "s"
	case reflect.Struct:
		return "mapping"
	}
	return t.Kind().String()
}

// refDefault renders a default value as it would be written in YAML.
func refDefault(v reflect.Value) string {
	if v.Kind() == reflect.Pointer || v.IsZero() {
		return ""
	}
	switch x := v.Interface().(type) {
	case Duration, ByteSize:
		return fmt.Sprintf("`%s`", x)
	case string:
		return fmt.Sprintf("`%q`", x)
	}
	if v.Kind() == reflect.Slice {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = refItem(v.Index(i))
		}
		return "`[" + strings.Join(items, ", ") + "]`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

func refItem(v reflect.Value) string {
	if v.Kind() != reflect.Struct {
		return fmt.Sprint(v.Interface())
	}
	var kv []string
	for i := 0; i < v.NumField(); i++ {
		if !v.Field(i).IsZero() {
			kv = append(kv, fmt.Sprintf("%s: %v", yamlName(v.Type().Field(i)), v.Field(i).Interface()))
		}
	}
	return "{" + strings.Join(kv, ", ") + "}"
}
