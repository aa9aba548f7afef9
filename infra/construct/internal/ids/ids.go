// Package ids builds construct IDs from the manifest's names.
package ids

import "strings"

// Pascal turns a manifest name into a construct ID part: "order-events" gives "OrderEvents".
func Pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
