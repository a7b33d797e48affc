package audit

import (
	"fmt"
	"sort"
	"strings"
)

// plaintextSecretCheck is SECOPS-1: Secret values committed to Git in the
// clear. A SealedSecret or ExternalSecret is another kind and never
// matches; a SOPS-encrypted Secret is recognized by its sops metadata or
// its ENC[...] values. Messages name keys, never values.
type plaintextSecretCheck struct{}

func (plaintextSecretCheck) ID() string    { return "SECOPS-1" }
func (plaintextSecretCheck) Title() string { return "no plaintext secret values in Git" }
func (plaintextSecretCheck) Rule() string {
	return "RFC-SECOPS §7: prevent unauthorized disclosure of secrets; secrets in Git are encrypted (SOPS, Sealed Secrets) or referenced (External Secrets), never in plaintext."
}

func (c plaintextSecretCheck) Run(r *Repo) Outcome {
	var out []Finding
	for _, o := range r.Kind("Secret") {
		if o.APIVersion != "v1" || sopsEncrypted(o) {
			continue
		}
		keys := secretKeys(o)
		if len(keys) == 0 {
			continue
		}
		out = append(out, o.finding(c.ID(), Error,
			fmt.Sprintf("Secret commits plaintext values for key(s) %s", strings.Join(keys, ", ")),
			"encrypt it with SOPS, replace it with a SealedSecret or an ExternalSecret, and rotate the exposed values").at(secretField(o)))
	}
	return Outcome{Findings: out, Evidence: r.files("Secret")}
}

// secretField is where a Secret's values are: data, or stringData.
func secretField(o Object) string {
	if len(mapping(o.Fields, "data")) > 0 {
		return "data"
	}
	return "stringData"
}

// secretKeys lists the keys with a non-empty value in data and stringData.
func secretKeys(o Object) []string {
	var keys []string
	for _, section := range []string{"data", "stringData"} {
		for k, v := range mapping(o.Fields, section) {
			if s, _ := v.(string); s != "" {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// sopsEncrypted reports whether the Secret carries SOPS metadata, or every
// value is SOPS ciphertext.
func sopsEncrypted(o Object) bool {
	if _, ok := o.Fields["sops"]; ok {
		return true
	}
	n := 0
	for _, section := range []string{"data", "stringData"} {
		for _, v := range mapping(o.Fields, section) {
			s, _ := v.(string)
			if s == "" {
				continue
			}
			if !strings.HasPrefix(s, "ENC[") {
				return false
			}
			n++
		}
	}
	return n > 0
}
