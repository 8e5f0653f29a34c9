// Package frontend embeds the built dashboard (frontend/dist) so the server binary
// serves it without Node or any files beside it.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist returns the built dashboard, rooted at its index.html.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is embedded at build time; this cannot fail
	}
	return sub
}
